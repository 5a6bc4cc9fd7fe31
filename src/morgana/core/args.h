#pragma once

// Boot arguments, one parser for every target. The boot layer (src/morgana/app)
// declares the platform's and libraries' arguments and turns them into config
// values; an application's settings are declared in its morgana.toml, from
// which tools/appgen generates their Option objects:
//
//   args::Option<std::uint16_t> port{"port", "TCP port to listen on", 80, args::Group::application};
//
// Values are read (port.value()) after boot has parsed the command line.
// `--help` lists every argument linked into the image with its default.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::args {

// Which section of --help an argument is listed in.
enum class Group : std::uint8_t {
  application, // the application's settings (its morgana.toml)
  morgana,     // the platform's and the libraries'
};

class Argument {
public:
  Argument(std::string_view name, std::string_view help, Group group);
  Argument(const Argument&) = delete;
  Argument& operator=(const Argument&) = delete;

  [[nodiscard]] std::string_view name() const { return m_name; }
  [[nodiscard]] std::string_view help() const { return m_help; }
  [[nodiscard]] Group group() const { return m_group; }
  // Set by a configured or a boot-time argument.
  [[nodiscard]] bool given() const { return m_given; }
  // Set by a configured argument (baked in by ./morgana configure).
  [[nodiscard]] bool configured() const { return m_configured; }
  // A flag takes no value (`--verbose`); others need `--name=value`.
  [[nodiscard]] virtual bool is_flag() const { return false; }
  // The built-in default, and the value now (after parsing).
  virtual void format_default(FormatSink& sink) const = 0;
  virtual void format_current(FormatSink& sink) const = 0;
  [[nodiscard]] virtual Result<void> set(std::string_view value) = 0;
  virtual void reset() = 0;

  Argument* next() const { return m_next; }

protected:
  ~Argument() = default;

private:
  friend class Parser;
  friend Result<void> parse(std::span<const std::string_view>, std::span<const std::string_view>, FormatSink&);
  std::string_view m_name;
  std::string_view m_help;
  Group m_group;
  bool m_given = false;
  bool m_configured = false;
  bool m_seen = false; // in the list being parsed
  Argument* m_next;
};

// Value parsers; other types add `Result<void> parse_value(std::string_view, T&)`
// in their own namespace.
[[nodiscard]] Result<void> parse_value(std::string_view text, std::string_view& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, bool& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, std::uint64_t& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, std::uint32_t& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, std::uint16_t& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, std::uint8_t& out);
// A number with a unit: "250ms", "30s", "2min", "1h" (also "us", "ns").
[[nodiscard]] Result<void> parse_value(std::string_view text, std::chrono::nanoseconds& out);
template <class T>
[[nodiscard]] Result<void> parse_value(std::string_view text, std::optional<T>& out) {
  T value{};
  TRY(parse_value(text, value));
  out = value;
  return {};
}

// A default written as text, for generated code (tools/appgen checks it
// parses before emitting it; a failure here is a generator bug).
template <class T>
[[nodiscard]] T parse_default(std::string_view text) {
  T value{};
  MUST(parse_value(text, value));
  return value;
}

template <class T>
class Option final : public Argument {
public:
  Option(std::string_view name, std::string_view help, T default_value, Group group = Group::morgana)
      : Argument(name, help, group), m_default(default_value), m_value(default_value) {}

  [[nodiscard]] const T& value() const { return m_value; }
  [[nodiscard]] bool is_flag() const override { return std::is_same_v<T, bool>; }
  void format_default(FormatSink& sink) const override { format_value(sink, m_default); }
  void format_current(FormatSink& sink) const override { format_value(sink, m_value); }
  [[nodiscard]] Result<void> set(std::string_view text) override {
    T parsed{};
    TRY(parse_value(text, parsed));
    m_value = parsed;
    return {};
  }
  void reset() override { m_value = m_default; }

private:
  T m_default;
  T m_value;
};

using Flag = Option<bool>;

// Parses `--name=value` and `--flag` arguments into the declared options,
// after resetting every option to its default: first the `configured` ones
// (baked into the image by ./morgana configure), then `arguments`, each of
// which overrides a configured value. On failure writes a message naming the
// argument to `diagnostics`. Does not handle --help; see app/boot.cpp.
[[nodiscard]] Result<void> parse(std::span<const std::string_view> configured,
                                 std::span<const std::string_view> arguments, FormatSink& diagnostics);
[[nodiscard]] inline Result<void> parse(std::span<const std::string_view> arguments, FormatSink& diagnostics) {
  return parse({}, arguments, diagnostics);
}

// Every declared argument of `group` with its help and default, sorted by
// name; a configured value is shown beside the built-in default.
void print_help(FormatSink& sink, Group group);

// The registered arguments (for tests and tools).
Argument* first();

} // namespace morgana::args
