#include "morgana/platform/pvh/printf_format.h"

#include <cerrno>
#include <cstdint>
#include <string_view>

#include "morgana/core/ascii.h"

namespace morgana::pvh {
namespace {

// Counts everything written, keeps what fits (and always a terminating NUL).
class BufferSink final : public FormatSink {
public:
  BufferSink(char* buffer, std::size_t capacity) : m_buffer(buffer), m_capacity(capacity) {}
  void write(std::string_view text) override {
    for (char c : text) {
      if (m_length + 1 < m_capacity) m_buffer[m_length] = c;
      ++m_length;
    }
  }
  void terminate() {
    if (m_capacity) m_buffer[m_length < m_capacity ? m_length : m_capacity - 1] = '\0';
  }
  [[nodiscard]] std::size_t length() const { return m_length; }

private:
  char* m_buffer;
  std::size_t m_capacity;
  std::size_t m_length = 0;
};

struct Spec {
  bool left = false, zero = false, plus = false, space = false, alternate = false;
  int width = 0;
  int precision = -1;
};

void pad(FormatSink& sink, char c, int count) {
  for (int i = 0; i < count; ++i) sink.put(c);
}

void emit_padded(FormatSink& sink, const Spec& spec, std::string_view prefix, int zeros, std::string_view body) {
  int length = static_cast<int>(prefix.size() + body.size()) + zeros;
  int fill = spec.width > length ? spec.width - length : 0;
  bool zero_fill = spec.zero && !spec.left && spec.precision < 0;
  if (!spec.left && !zero_fill) pad(sink, ' ', fill);
  sink.write(prefix);
  if (zero_fill) pad(sink, '0', fill);
  pad(sink, '0', zeros);
  sink.write(body);
  if (spec.left) pad(sink, ' ', fill);
}

void emit_integer(FormatSink& sink, const Spec& spec, std::uint64_t magnitude, bool negative, unsigned base,
                  bool upper) {
  char digits[24];
  int count = 0;
  const char* alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  for (std::uint64_t v = magnitude; v; v /= base) digits[sizeof digits - 1 - count++] = alphabet[v % base];
  if (magnitude == 0 && spec.precision != 0) digits[sizeof digits - 1 - count++] = '0';
  std::string_view body(digits + sizeof digits - count, static_cast<std::size_t>(count));
  std::string_view prefix = negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
  if (spec.alternate && magnitude != 0 && base == 16) prefix = upper ? "0X" : "0x";
  int zeros = spec.precision > count ? spec.precision - count : 0;
  if (spec.alternate && base == 8 && zeros == 0 && (count == 0 || body[0] != '0')) zeros = 1;
  emit_padded(sink, spec, prefix, zeros, body);
}

enum class Length { none, hh, h, l, ll, z, j, t };

// x86-64 (LP64): long, long long, size_t, intmax_t and ptrdiff_t are all 64 bits.
std::uint64_t take_unsigned(va_list& args, Length length) {
  switch (length) {
  case Length::hh: return static_cast<unsigned char>(va_arg(args, unsigned int));
  case Length::h: return static_cast<unsigned short>(va_arg(args, unsigned int));
  case Length::l:
  case Length::ll:
  case Length::z:
  case Length::j:
  case Length::t: return va_arg(args, unsigned long);
  case Length::none: break;
  }
  return va_arg(args, unsigned int);
}

std::int64_t take_signed(va_list& args, Length length) {
  switch (length) {
  case Length::hh: return static_cast<signed char>(va_arg(args, int));
  case Length::h: return static_cast<short>(va_arg(args, int));
  case Length::l:
  case Length::ll:
  case Length::z:
  case Length::j:
  case Length::t: return va_arg(args, long);
  case Length::none: break;
  }
  return va_arg(args, int);
}

int parse_number(const char*& p) {
  int value = 0;
  while (ascii::is_digit(*p)) {
    if (value < 100'000'000) value = value * 10 + (*p - '0');
    ++p;
  }
  return value;
}

Length parse_length(const char*& p) {
  switch (*p) {
  case 'h': ++p; return *p == 'h' ? (++p, Length::hh) : Length::h;
  case 'l': ++p; return *p == 'l' ? (++p, Length::ll) : Length::l;
  case 'z': ++p; return Length::z;
  case 'j': ++p; return Length::j;
  case 't': ++p; return Length::t;
  default: return Length::none;
  }
}

} // namespace

bool print_formatted(FormatSink& sink, const char* format, va_list& args) {
  for (const char* p = format; *p;) {
    if (*p != '%') {
      const char* run = p;
      while (*p && *p != '%') ++p;
      sink.write({run, static_cast<std::size_t>(p - run)});
      continue;
    }
    ++p;
    Spec spec;
    for (;; ++p) {
      if (*p == '-') spec.left = true;
      else if (*p == '0') spec.zero = true;
      else if (*p == '+') spec.plus = true;
      else if (*p == ' ') spec.space = true;
      else if (*p == '#') spec.alternate = true;
      else break;
    }
    if (*p == '*') {
      int width = va_arg(args, int);
      if (width < 0) spec.left = true; // a negative width from * means left-justified
      spec.width = width < 0 ? (width < -100'000'000 ? 100'000'000 : -width) : width;
      ++p;
    } else {
      spec.width = parse_number(p);
    }
    if (*p == '.') {
      ++p;
      if (*p == '*') {
        spec.precision = va_arg(args, int);
        if (spec.precision < 0) spec.precision = -1;
        ++p;
      } else {
        spec.precision = parse_number(p);
      }
    }
    Length length = parse_length(p);
    char conversion = *p;
    if (!conversion) return false; // a '%' at the end
    ++p;
    switch (conversion) {
    case 'd':
    case 'i': {
      std::int64_t value = take_signed(args, length);
      auto magnitude = value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
      emit_integer(sink, spec, magnitude, value < 0, 10, false);
      break;
    }
    case 'u': emit_integer(sink, spec, take_unsigned(args, length), false, 10, false); break;
    case 'o': emit_integer(sink, spec, take_unsigned(args, length), false, 8, false); break;
    case 'x':
    case 'X': emit_integer(sink, spec, take_unsigned(args, length), false, 16, conversion == 'X'); break;
    case 'p': {
      auto address = reinterpret_cast<std::uintptr_t>(va_arg(args, void*));
      if (address == 0) {
        emit_padded(sink, spec, "", 0, "(nil)");
      } else {
        spec.alternate = true;
        emit_integer(sink, spec, address, false, 16, false);
      }
      break;
    }
    case 'c': {
      char c = static_cast<char>(va_arg(args, int));
      emit_padded(sink, spec, "", 0, {&c, 1});
      break;
    }
    case 's': {
      const char* text = va_arg(args, const char*);
      if (!text) text = "(null)";
      std::size_t size = 0;
      while (text[size] && (spec.precision < 0 || size < static_cast<std::size_t>(spec.precision))) ++size;
      emit_padded(sink, spec, "", 0, {text, size});
      break;
    }
    case '%': sink.put('%'); break;
    default: return false; // floating point, %n, or a malformed directive
    }
  }
  return true;
}

int printf_result(bool ok, std::size_t length) {
  if (!ok) {
    errno = EINVAL;
    return -1;
  }
  if (length > 0x7fffffff) {
    errno = EOVERFLOW;
    return -1;
  }
  return static_cast<int>(length);
}

int format_to_buffer(char* buffer, std::size_t size, const char* format, va_list& args) {
  BufferSink sink(buffer, size);
  bool ok = print_formatted(sink, format, args);
  sink.terminate();
  return printf_result(ok, sink.length());
}

} // namespace morgana::pvh
