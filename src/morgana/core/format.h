#pragma once

// A small "{}" formatter that works without libc, for logs, help text and
// diagnostics. Types opt in with a member `void format(FormatSink&) const`.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "morgana/core/result.h"

namespace morgana {

class FormatSink {
public:
  virtual void write(std::string_view text) = 0;
  void put(char c) { write({&c, 1}); }

protected:
  ~FormatSink() = default;
};

// Formats into a fixed buffer; text beyond the capacity is cut off.
template <std::size_t Capacity>
class StringBuilder final : public FormatSink {
public:
  void write(std::string_view text) override {
    auto n = text.size() < Capacity - m_length ? text.size() : Capacity - m_length;
    for (std::size_t i = 0; i < n; ++i) m_data[m_length + i] = text[i];
    m_length += n;
  }
  [[nodiscard]] std::string_view view() const { return {m_data, m_length}; }
  void clear() { m_length = 0; }

private:
  char m_data[Capacity];
  std::size_t m_length = 0;
};

// Formats into a growing std::string.
class StringSink final : public FormatSink {
public:
  void write(std::string_view text) override { m_text.append(text); }
  [[nodiscard]] const std::string& text() const { return m_text; }
  [[nodiscard]] std::string take() { return std::move(m_text); }

private:
  std::string m_text;
};

// An unsigned value in hexadecimal, zero-padded to `width` digits.
struct Hex {
  std::uint64_t value;
  int width = 0;
  void format(FormatSink& sink) const;
};

void format_unsigned(FormatSink& sink, std::uint64_t value);
// "250ms", "30s", "1500us": the largest unit that shows the value exactly.
void format_duration(FormatSink& sink, std::int64_t nanoseconds);
void format_signed(FormatSink& sink, std::int64_t value);

template <class T>
concept SelfFormatting = requires(const T& value, FormatSink& sink) { value.format(sink); };

template <class T>
void format_value(FormatSink& sink, const T& value) {
  if constexpr (std::same_as<T, bool>) {
    sink.write(value ? "true" : "false");
  } else if constexpr (std::same_as<T, char>) {
    sink.put(value);
  } else if constexpr (std::signed_integral<T>) {
    format_signed(sink, value);
  } else if constexpr (std::unsigned_integral<T>) {
    format_unsigned(sink, value);
  } else if constexpr (std::is_enum_v<T> && !SelfFormatting<T>) {
    format_unsigned(sink, static_cast<std::uint64_t>(value));
  } else if constexpr (std::convertible_to<const T&, std::string_view>) {
    sink.write(std::string_view(value));
  } else if constexpr (requires {
                         value.count();
                         typename T::period;
                       }) {
    format_duration(sink, std::chrono::duration_cast<std::chrono::nanoseconds>(value).count());
  } else if constexpr (requires {
                         value.has_value();
                         *value;
                       }) {
    if (value.has_value()) format_value(sink, *value);
    else sink.write("(none)");
  } else {
    value.format(sink);
  }
}

void format_value(FormatSink& sink, const Error& error);

struct FormatArg {
  void (*format)(FormatSink&, const void*);
  const void* value;
};

void vformat(FormatSink& sink, std::string_view pattern, std::initializer_list<FormatArg> args);

template <class... Args>
void format_to(FormatSink& sink, std::string_view pattern, const Args&... args) {
  vformat(sink, pattern,
          {FormatArg{[](FormatSink& s, const void* p) { format_value(s, *static_cast<const Args*>(p)); }, &args}...});
}

// The formatted text as a string: format_string("{}:{}", host, port).
template <class... Args>
[[nodiscard]] std::string format_string(std::string_view pattern, const Args&... args) {
  StringSink sink;
  format_to(sink, pattern, args...);
  return sink.take();
}

} // namespace morgana
