#include "morgana/core/counter.h"

namespace morgana {
namespace {
constinit Counter* g_counters = nullptr;
}

Counter::Counter(std::string_view name, std::string_view help) : m_name(name), m_help(help), m_next(g_counters) {
  g_counters = this;
}

Counter* Counter::first() { return g_counters; }

Counter* Counter::find(std::string_view name) {
  for (auto* c = g_counters; c; c = c->m_next)
    if (c->m_name == name) return c;
  return nullptr;
}

void Counter::print_all(FormatSink& sink, bool include_zero) {
  for (auto* c = g_counters; c; c = c->m_next)
    if (include_zero || c->m_value) format_to(sink, "  {} {}\n", c->m_name, c->m_value);
}

} // namespace morgana
