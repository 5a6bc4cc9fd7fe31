#include "morgana/core/format.h"

namespace morgana {

void format_unsigned(FormatSink& sink, std::uint64_t value) {
  char digits[20];
  int n = 0;
  do {
    digits[sizeof digits - 1 - n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value);
  sink.write({digits + sizeof digits - n, static_cast<std::size_t>(n)});
}

void format_signed(FormatSink& sink, std::int64_t value) {
  if (value < 0) {
    sink.put('-');
    format_unsigned(sink, ~static_cast<std::uint64_t>(value) + 1);
  } else {
    format_unsigned(sink, static_cast<std::uint64_t>(value));
  }
}

void format_duration(FormatSink& sink, std::int64_t nanoseconds) {
  struct Unit {
    std::int64_t size;
    std::string_view name;
  };
  for (auto unit : {Unit{3'600'000'000'000, "h"}, Unit{60'000'000'000, "min"}, Unit{1'000'000'000, "s"},
                    Unit{1'000'000, "ms"}, Unit{1'000, "us"}}) {
    if (nanoseconds != 0 && nanoseconds % unit.size == 0) {
      format_signed(sink, nanoseconds / unit.size);
      sink.write(unit.name);
      return;
    }
  }
  format_signed(sink, nanoseconds);
  sink.write("ns");
}

void Hex::format(FormatSink& sink) const {
  char digits[16];
  int n = 0;
  std::uint64_t v = value;
  do {
    digits[sizeof digits - 1 - n++] = "0123456789abcdef"[v & 0xf];
    v >>= 4;
  } while (v);
  for (int pad = width - n; pad > 0; --pad) sink.put('0');
  sink.write({digits + sizeof digits - n, static_cast<std::size_t>(n)});
}

void format_value(FormatSink& sink, const Error& error) {
  sink.write(error.message());
  if (!error.context.empty()) {
    sink.write(" (");
    sink.write(error.context);
    sink.put(')');
  }
}

void vformat(FormatSink& sink, std::string_view pattern, std::initializer_list<FormatArg> args) {
  auto next = args.begin();
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      sink.put('{');
      ++i;
    } else if (c == '}' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
      sink.put('}');
      ++i;
    } else if (c == '{' && i + 1 < pattern.size() && pattern[i + 1] == '}') {
      if (next != args.end()) {
        next->format(sink, next->value);
        ++next;
      } else {
        sink.write("{?}");
      }
      ++i;
    } else {
      sink.put(c);
    }
  }
}

} // namespace morgana
