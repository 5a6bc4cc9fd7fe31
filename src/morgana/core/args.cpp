#include "morgana/core/args.h"

namespace morgana::args {
namespace {

constinit Argument* g_arguments = nullptr;

Argument* find(std::string_view name) {
  for (auto* a = g_arguments; a; a = a->next())
    if (a->name() == name) return a;
  return nullptr;
}

template <class T>
Result<void> parse_unsigned(std::string_view text, T& out) {
  if (text.empty()) return fail(Errc::invalid_argument, "expected a number");
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return fail(Errc::invalid_argument, "expected a decimal number");
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (T(~T{0}) - digit) / 10) return fail(Errc::invalid_argument, "number out of range");
    value = value * 10 + digit;
  }
  out = static_cast<T>(value);
  return {};
}

} // namespace

Argument::Argument(std::string_view name, std::string_view help, Group group)
    : m_name(name), m_help(help), m_group(group), m_next(g_arguments) {
  g_arguments = this;
}

Argument* first() { return g_arguments; }

Result<void> parse_value(std::string_view text, std::string_view& out) {
  out = text;
  return {};
}

Result<void> parse_value(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") out = true;
  else if (text == "false" || text == "0" || text == "no" || text == "off") out = false;
  else return fail(Errc::invalid_argument, "expected true or false");
  return {};
}

Result<void> parse_value(std::string_view text, std::uint64_t& out) { return parse_unsigned(text, out); }
Result<void> parse_value(std::string_view text, std::uint32_t& out) { return parse_unsigned(text, out); }
Result<void> parse_value(std::string_view text, std::uint16_t& out) { return parse_unsigned(text, out); }
Result<void> parse_value(std::string_view text, std::uint8_t& out) { return parse_unsigned(text, out); }

Result<void> parse_value(std::string_view text, std::chrono::nanoseconds& out) {
  struct Unit {
    std::string_view name;
    std::uint64_t nanoseconds;
  };
  for (auto unit : {Unit{"ns", 1}, Unit{"us", 1'000}, Unit{"ms", 1'000'000}, Unit{"min", 60'000'000'000},
                    Unit{"s", 1'000'000'000}, Unit{"h", 3'600'000'000'000}}) {
    if (!text.ends_with(unit.name)) continue;
    std::uint64_t count = 0;
    if (!parse_unsigned(text.substr(0, text.size() - unit.name.size()), count))
      return fail(Errc::invalid_argument, "expected a duration like 250ms, 30s or 2min");
    if (count > static_cast<std::uint64_t>(INT64_MAX) / unit.nanoseconds)
      return fail(Errc::invalid_argument, "duration out of range");
    out = std::chrono::nanoseconds(static_cast<std::int64_t>(count * unit.nanoseconds));
    return {};
  }
  return fail(Errc::invalid_argument, "expected a duration like 250ms, 30s or 2min");
}

// One pass over a list of arguments; `source` names the list in messages.
class Parser {
public:
  Parser(FormatSink& diagnostics, bool configured)
      : m_diagnostics(diagnostics), m_source(configured ? "configured " : ""), m_configured(configured) {}

  Result<void> parse(std::span<const std::string_view> arguments) {
    for (auto* a = g_arguments; a; a = a->next()) a->m_seen = false;
    for (auto text : arguments) TRY(parse_one(text));
    return {};
  }

private:
  Result<void> parse_one(std::string_view text) {
    if (!text.starts_with("--") || text.size() == 2)
      return bad("{}argument '{}': expected --name=value (see --help)", m_source, text);
    auto body = text.substr(2);
    auto equals = body.find('=');
    auto name = body.substr(0, equals);
    auto* argument = find(name);
    if (!argument) return bad("{}unknown argument '--{}' (see --help)", m_source, name);
    if (argument->m_seen) return bad("{}argument '--{}' given twice", m_source, name);
    std::string_view value;
    if (equals != std::string_view::npos) {
      value = body.substr(equals + 1);
    } else if (argument->is_flag()) {
      value = "true";
    } else {
      return bad("{}argument '--{}' needs a value: --{}=VALUE", m_source, name, name);
    }
    if (auto result = argument->set(value); !result) {
      return bad("{}argument '{}': {}", m_source, text,
                 result.error().context.empty() ? result.error().message() : result.error().context);
    }
    argument->m_seen = true;
    argument->m_given = true;
    argument->m_configured = m_configured;
    return {};
  }

  template <class... A>
  std::unexpected<Error> bad(std::string_view pattern, const A&... values) {
    format_to(m_diagnostics, pattern, values...);
    return fail(Errc::invalid_argument, "boot argument");
  }

  FormatSink& m_diagnostics;
  std::string_view m_source;
  bool m_configured;
};

Result<void> parse(std::span<const std::string_view> configured, std::span<const std::string_view> arguments,
                   FormatSink& diagnostics) {
  for (auto* a = g_arguments; a; a = a->next()) {
    a->reset();
    a->m_given = false;
    a->m_configured = false;
  }
  TRY(Parser(diagnostics, true).parse(configured));
  return Parser(diagnostics, false).parse(arguments);
}

void print_help(FormatSink& sink, Group group) {
  // Sorted by name for a stable listing; the list is short, so selection sort.
  std::string_view last;
  bool first_round = true;
  while (true) {
    Argument* next = nullptr;
    for (auto* a = g_arguments; a; a = a->next())
      if (a->group() == group && (first_round || a->name() > last) && (!next || a->name() < next->name())) next = a;
    if (!next) break;
    first_round = false;
    last = next->name();
    format_to(sink, "  --{}{}\n      {} (default: ", next->name(), next->is_flag() ? "" : "=VALUE", next->help());
    next->format_default(sink);
    if (next->configured()) {
      sink.write("; configured: ");
      next->format_current(sink);
    }
    sink.write(")\n");
  }
}

} // namespace morgana::args
