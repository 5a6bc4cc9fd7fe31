#include "morgana/core/log.h"

#include "morgana/core/time.h"
#include "morgana/platform/interface.h"

namespace morgana::log {
namespace {

constinit Source* g_sources = nullptr;
constinit Level g_default_level = Level::info;

std::string_view level_name(Level level) {
  switch (level) {
  case Level::off: return "off";
  case Level::error: return "error";
  case Level::warn: return "warn";
  case Level::info: return "info";
  case Level::debug: return "debug";
  case Level::trace: return "trace";
  }
  return "?";
}

Result<Level> parse_level(std::string_view text) {
  for (auto level : {Level::off, Level::error, Level::warn, Level::info, Level::debug, Level::trace})
    if (text == level_name(level)) return level;
  return fail(Errc::invalid_argument, "log level must be off, error, warn, info, debug or trace");
}

} // namespace

Source main{"main"};

Source::Source(std::string_view name) : m_name(name), m_level(Level::info), m_next(g_sources) { g_sources = this; }

Level Source::level() const { return m_level_set ? m_level : g_default_level; }

Source::Line::Line(const Source& source, Level level) {
  auto ns = platform::monotonic_ns();
  auto micros = ns / 1000;
  StringBuilder<16> fraction;
  format_unsigned(fraction, static_cast<std::uint64_t>(micros % 1000000 + 1000000));
  format_to(m_text, "[{}.{}] {} {}: ", micros / 1000000, fraction.view().substr(1), source.name(), level_name(level));
}

Source::Line::~Line() {
  m_text.put('\n');
  platform::console_write(m_text.view());
  // A line cut off at the capacity lost its newline; the next line must not run on.
  if (m_text.view().back() != '\n') platform::console_write("\n");
}

Result<void> configure(std::string_view spec) {
  while (!spec.empty()) {
    auto comma = spec.find(',');
    auto item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos) return fail(Errc::invalid_argument, "expected SOURCE:LEVEL");
    auto name = item.substr(0, colon);
    auto level = TRY(parse_level(item.substr(colon + 1)));
    if (name == "*") {
      g_default_level = level;
      continue;
    }
    Source* found = nullptr;
    for (auto* s = g_sources; s; s = s->m_next)
      if (s->m_name == name) found = s;
    if (!found) return fail(Errc::invalid_argument, "no log source by that name");
    found->m_level = level;
    found->m_level_set = true;
  }
  return {};
}

} // namespace morgana::log
