#pragma once

// Boot arguments, one parser for every target. Libraries and applications
// declare typed arguments at namespace scope:
//
//   args::Option<std::uint16_t> port{"port", "TCP port to listen on", 80};
//
// and read them (port.value()) after boot has parsed the command line.
// `--help` lists every argument linked into the image with its default.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::args {

class Argument {
public:
  Argument(std::string_view name, std::string_view help);
  Argument(const Argument&) = delete;
  Argument& operator=(const Argument&) = delete;

  [[nodiscard]] std::string_view name() const { return m_name; }
  [[nodiscard]] std::string_view help() const { return m_help; }
  [[nodiscard]] bool given() const { return m_given; }
  // A flag takes no value (`--verbose`); others need `--name=value`.
  [[nodiscard]] virtual bool is_flag() const { return false; }
  virtual void format_default(FormatSink& sink) const = 0;
  [[nodiscard]] virtual Result<void> set(std::string_view value) = 0;
  virtual void reset() = 0;

  Argument* next() const { return m_next; }

protected:
  ~Argument() = default;

private:
  friend Result<void> parse(std::span<const std::string_view>, FormatSink&);
  std::string_view m_name;
  std::string_view m_help;
  bool m_given = false;
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

template <class T>
class Option final : public Argument {
public:
  Option(std::string_view name, std::string_view help, T default_value)
      : Argument(name, help), m_default(default_value), m_value(default_value) {}

  [[nodiscard]] const T& value() const { return m_value; }
  [[nodiscard]] bool is_flag() const override { return std::is_same_v<T, bool>; }
  void format_default(FormatSink& sink) const override { format_value(sink, m_default); }
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

// Parses `--name=value` and `--flag` arguments into the declared options.
// On failure writes a message naming the argument to `diagnostics`.
// Does not handle --help; see boot.h.
[[nodiscard]] Result<void> parse(std::span<const std::string_view> arguments, FormatSink& diagnostics);

// Every declared argument with its help and default, one per line.
void print_help(FormatSink& sink);

// The registered arguments (for tests and tools).
Argument* first();

} // namespace morgana::args
