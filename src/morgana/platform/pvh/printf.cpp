// The printf family and the little of stdio that the C libraries linked into
// images reference (cmark-gfm's list numbers and error messages, zlib's gz*
// messages): snprintf and its fortified forms, fprintf to stderr (which goes
// to the console) and fread (which fails: there are no files). The format
// language is in printf_format.h.

#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/printf_format.h"

using morgana::pvh::format_to_buffer;
using morgana::pvh::print_formatted;
using morgana::pvh::printf_result;

// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier): C library names.
namespace {

// Counts what it passes on to another sink.
class CountingSink final : public morgana::FormatSink {
public:
  explicit CountingSink(morgana::FormatSink& out) : m_out(&out) {}
  void write(std::string_view text) override {
    m_out->write(text);
    m_length += text.size();
  }
  [[nodiscard]] std::size_t length() const { return m_length; }

private:
  morgana::FormatSink* m_out;
  std::size_t m_length = 0;
};

// glibc's fortified entry points pass the destination's real size: a larger
// claimed size is a buffer overflow in the caller.
void check_size(std::size_t claimed, std::size_t real, const char* function) {
  if (claimed > real) {
    morgana::StringBuilder<96> message;
    morgana::format_to(message, "{}: buffer overflow", std::string_view(function));
    morgana::platform::abort(message.view());
  }
}

// The only FILE: stderr, written to the console.
constinit FILE g_stderr{};

} // namespace

extern "C" {

FILE* stderr = &g_stderr;

int snprintf(char* buffer, std::size_t size, const char* format, ...) noexcept {
  va_list args;
  va_start(args, format);
  int result = format_to_buffer(buffer, size, format, args);
  va_end(args);
  return result;
}

int __snprintf_chk(char* buffer, std::size_t size, int, std::size_t buffer_size, const char* format, ...) noexcept {
  check_size(size, buffer_size, "__snprintf_chk");
  va_list args;
  va_start(args, format);
  int result = format_to_buffer(buffer, size, format, args);
  va_end(args);
  return result;
}

int __vsnprintf_chk(char* buffer, std::size_t size, int, std::size_t buffer_size, const char* format,
                    va_list args) noexcept {
  check_size(size, buffer_size, "__vsnprintf_chk");
  va_list copy;
  va_copy(copy, args);
  int result = format_to_buffer(buffer, size, format, copy);
  va_end(copy);
  return result;
}

int __fprintf_chk(FILE* stream, int, const char* format, ...) {
  if (stream != &g_stderr) {
    errno = EBADF;
    return -1;
  }
  morgana::platform::ConsoleSink console;
  CountingSink sink(console);
  va_list args;
  va_start(args, format);
  bool ok = print_formatted(sink, format, args);
  va_end(args);
  return printf_result(ok, sink.length());
}

std::size_t fread(void*, std::size_t, std::size_t, FILE*) {
  errno = EBADF;
  return 0;
}

} // extern "C"
// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)
