#include "morgana/platform/pvh/printf_format.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace morgana::pvh {
namespace {

// snprintf as the pvh image has it.
[[gnu::format(printf, 3, 4)]] int image_snprintf(char* buffer, std::size_t size, const char* format, ...) {
  va_list args;
  va_start(args, format);
  int result = format_to_buffer(buffer, size, format, args);
  va_end(args);
  return result;
}

[[gnu::format(printf, 2, 3)]] bool print_to(FormatSink& sink, const char* format, ...) {
  va_list args;
  va_start(args, format);
  bool ok = print_formatted(sink, format, args);
  va_end(args);
  return ok;
}

// The image's snprintf and the host's (glibc) give the same text and return value.
#define EXPECT_AS_HOST(...)                                                                                            \
  do {                                                                                                                 \
    char ours[256], host[256];                                                                                         \
    int ours_result = image_snprintf(ours, sizeof ours, __VA_ARGS__);                                                  \
    int host_result = std::snprintf(host, sizeof host, __VA_ARGS__);                                                   \
    EXPECT_EQ(ours_result, host_result) << #__VA_ARGS__;                                                               \
    EXPECT_STREQ(ours, host) << #__VA_ARGS__;                                                                          \
  } while (false)

TEST(PrintfTest, PlainTextAndPercent) {
  EXPECT_AS_HOST("hello");
  EXPECT_AS_HOST("%s", "");
  EXPECT_AS_HOST("100%% sure, %d%%", 5);
}

TEST(PrintfTest, SignedIntegers) {
  EXPECT_AS_HOST("%d %i", 0, -0);
  EXPECT_AS_HOST("%d|%d|%d", 42, -42, INT_MAX);
  EXPECT_AS_HOST("%d", INT_MIN);
  EXPECT_AS_HOST("%5d|%-5d|%05d|%+d|% d|%+d", 42, 42, -42, 42, 42, -42);
  EXPECT_AS_HOST("%.3d|%8.3d|%-8.3d|%08.3d", 7, -7, 7, 7);
  EXPECT_AS_HOST("%.0d|%.0d|%5.0d", 0, 1, 0);
  EXPECT_AS_HOST("%*d|%-*d|%*d", 6, 1, 6, 2, -6, 3);
  EXPECT_AS_HOST("%.*d|%.*d", 4, 5, -1, 5);
  EXPECT_AS_HOST("% 05d|%+05d|%-+5d", 3, 3, 3);
}

TEST(PrintfTest, LengthModifiers) {
  EXPECT_AS_HOST("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
  EXPECT_AS_HOST("%ld %lu %lx", LONG_MIN, ULONG_MAX, ULONG_MAX);
  EXPECT_AS_HOST("%lld %lld %llu", LLONG_MIN, LLONG_MAX, ULLONG_MAX);
  EXPECT_AS_HOST("%zu %zx %zd", SIZE_MAX, std::size_t{0xabc}, static_cast<std::ptrdiff_t>(-5));
  EXPECT_AS_HOST("%jd %ju %td", INTMAX_MIN, UINTMAX_MAX, static_cast<std::ptrdiff_t>(PTRDIFF_MIN));
}

TEST(PrintfTest, UnsignedOctalHex) {
  EXPECT_AS_HOST("%u %u", 0u, UINT_MAX);
  EXPECT_AS_HOST("%x %X %x", 0xdeadbeefu, 0xdeadbeefu, 0u);
  EXPECT_AS_HOST("%#x %#X %#x %#o %#o %o", 255u, 255u, 0u, 8u, 0u, 8u);
  EXPECT_AS_HOST("%08x|%-8x|%8.4x|%#010x|%#.6x", 0xabu, 0xabu, 0xabu, 0xabu, 0xabu);
  EXPECT_AS_HOST("%#.3o|%#5o|%.0x|%#.0o", 8u, 8u, 0u, 0u);
}

TEST(PrintfTest, CharactersStringsPointers) {
  EXPECT_AS_HOST("%c%c%c|%3c|%-3c|", 'a', 'b', 'c', 'x', 'y');
  EXPECT_AS_HOST("%s|%10s|%-10s|%.2s|%10.3s|%-6.1s|", "morgana", "abc", "abc", "abc", "abcdef", "xyz");
  EXPECT_AS_HOST("%.*s|%.0s|", 3, "abcdef", "abc");
  EXPECT_AS_HOST("%p|%20p|%-20p|", static_cast<void*>(nullptr), static_cast<void*>(nullptr),
                 reinterpret_cast<void*>(0x1234)); // NOLINT(performance-no-int-to-ptr)
  int object = 0;
  EXPECT_AS_HOST("%p", static_cast<void*>(&object));
}

TEST(PrintfTest, NullStringPrintsNull) {
  char buffer[32];
  const char* none = nullptr;
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "[%s]", none), 8);
  EXPECT_STREQ(buffer, "[(null)]");
}

TEST(PrintfTest, TruncationKeepsATerminatorAndReturnsTheFullLength) {
  char buffer[8];
  std::memset(buffer, 'x', sizeof buffer);
  EXPECT_EQ(image_snprintf(buffer, 5, "hello world"), 11);
  EXPECT_STREQ(buffer, "hell");
  EXPECT_EQ(buffer[5], 'x') << "nothing written past the given size";

  EXPECT_EQ(image_snprintf(buffer, 1, "%d", 12345), 5);
  EXPECT_STREQ(buffer, "");
  EXPECT_EQ(image_snprintf(nullptr, 0, "%s-%d", "abc", 42), 6);

  std::memset(buffer, 'x', sizeof buffer);
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "%-10d|", 7), 11);
  EXPECT_STREQ(buffer, "7      ");
}

TEST(PrintfTest, LongOutputCountsEverything) {
  char buffer[16];
  std::string expected(1000, ' ');
  expected.back() = '1';
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "%1000d", 1), 1000);
  EXPECT_EQ(std::string(buffer), expected.substr(0, 15));
}

TEST(PrintfTest, UnsupportedConversionsFailWithEinval) {
  char buffer[32];
  errno = 0;
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "a%fb", 1.5), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_STREQ(buffer, "a") << "what came before is written and terminated";
  errno = 0;
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "%g", 1.5), -1);
  EXPECT_EQ(errno, EINVAL);
  int count = 0;
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, "ab%n", &count), -1);
  EXPECT_EQ(count, 0) << "%n writes nothing";
  const char* trailing_percent = "abc%";
  EXPECT_EQ(image_snprintf(buffer, sizeof buffer, trailing_percent, 0), -1);
}

TEST(PrintfTest, PrintFormattedWritesToAnySink) {
  StringBuilder<64> sink;
  EXPECT_TRUE(print_to(sink, "%s=%04x", "id", 0x2au));
  EXPECT_EQ(sink.view(), "id=002a");
  EXPECT_EQ(printf_result(true, 7), 7);
  errno = 0;
  EXPECT_EQ(printf_result(true, std::size_t{1} << 31), -1);
  EXPECT_EQ(errno, EOVERFLOW);
}

} // namespace
} // namespace morgana::pvh
