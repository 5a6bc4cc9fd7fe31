#include "morgana/core/format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

namespace morgana {
namespace {

template <class... Args>
std::string format(std::string_view pattern, const Args&... args) {
  StringBuilder<256> text;
  format_to(text, pattern, args...);
  return std::string(text.view());
}

struct Point {
  int x;
  int y;
  void format(FormatSink& sink) const { format_to(sink, "({}, {})", x, y); }
};

enum class Colour : std::uint8_t { red = 1, green = 7 };

TEST(Format, PlainTextPassesThrough) {
  EXPECT_EQ(format("no placeholders"), "no placeholders");
  EXPECT_EQ(format(""), "");
}

TEST(Format, PlaceholdersInOrder) {
  EXPECT_EQ(format("{} + {} = {}", 1, 2, 3), "1 + 2 = 3");
  EXPECT_EQ(format("{}{}", "a", "b"), "ab");
}

TEST(Format, DoubledBracesAreLiterals) {
  EXPECT_EQ(format("{{}}"), "{}");
  EXPECT_EQ(format("{{{}}}", 5), "{5}");
  EXPECT_EQ(format("set {{ {} }}", 1), "set { 1 }");
}

TEST(Format, LoneBracesArePrintedAsIs) {
  EXPECT_EQ(format("{ x }"), "{ x }");
  EXPECT_EQ(format("trailing {"), "trailing {");
  EXPECT_EQ(format("}"), "}");
}

TEST(Format, MissingArgumentsShowAndExtraArgumentsAreIgnored) {
  EXPECT_EQ(format("{} {}", 1), "1 {?}");
  EXPECT_EQ(format("{}", 1, 2), "1");
}

TEST(Format, Integers) {
  EXPECT_EQ(format("{}", 0), "0");
  EXPECT_EQ(format("{}", -42), "-42");
  EXPECT_EQ(format("{}", std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(format("{}", std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(format("{}", std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(format("{}", std::uint8_t{200}), "200"); // a number, not a character
  EXPECT_EQ(format("{}", std::int8_t{-5}), "-5");
  EXPECT_EQ(format("{}", std::uint16_t{65535}), "65535");
}

TEST(Format, BoolCharAndStrings) {
  EXPECT_EQ(format("{} {}", true, false), "true false");
  EXPECT_EQ(format("{}", 'x'), "x");
  EXPECT_EQ(format("{}", std::string_view("view")), "view");
  const char* pointer = "pointer";
  EXPECT_EQ(format("{}", pointer), "pointer");
  EXPECT_EQ(format("{}", std::string("string")), "string");
  EXPECT_EQ(format("[{}]", std::string_view{}), "[]");
}

TEST(Format, Hex) {
  EXPECT_EQ(format("{}", Hex{0}), "0");
  EXPECT_EQ(format("{}", Hex{0xbeef}), "beef");
  EXPECT_EQ(format("{}", Hex{0xa, 4}), "000a");
  EXPECT_EQ(format("{}", Hex{0, 2}), "00");
  EXPECT_EQ(format("{}", Hex{0x12345, 2}), "12345"); // width is a minimum
  EXPECT_EQ(format("{}", Hex{std::numeric_limits<std::uint64_t>::max()}), "ffffffffffffffff");
}

TEST(Format, Errors) {
  EXPECT_EQ(format("{}", Error{Errc::timed_out}), "timed out");
  EXPECT_EQ(format("{}", Error{Errc::malformed, "IHL below 5"}), "malformed input (IHL below 5)");
  auto result = Result<int>(fail(Errc::no_space, "packet headroom"));
  EXPECT_EQ(format("failed: {}", result.error()), "failed: not enough room in the buffer (packet headroom)");
}

TEST(Format, Optionals) {
  EXPECT_EQ(format("{}", std::optional<int>{7}), "7");
  EXPECT_EQ(format("{}", std::optional<int>{}), "(none)");
  EXPECT_EQ(format("{}", std::optional<std::string_view>{"set"}), "set");
  EXPECT_EQ(format("{}", std::optional<Point>{Point{1, 2}}), "(1, 2)");
}

TEST(Format, SelfFormattingTypesAndEnums) {
  EXPECT_EQ(format("at {}", Point{3, -4}), "at (3, -4)");
  EXPECT_EQ(format("{} {}", Colour::red, Colour::green), "1 7");
}

TEST(Format, FormatUnsignedAndSignedDirectly) {
  StringBuilder<32> text;
  format_unsigned(text, 1234567890);
  text.put(' ');
  format_signed(text, -1);
  EXPECT_EQ(text.view(), "1234567890 -1");
}

TEST(StringBuilder, CutsOffAtCapacity) {
  StringBuilder<8> text;
  format_to(text, "{}-{}", "abcde", 12345);
  EXPECT_EQ(text.view(), "abcde-12");
  text.write("more");
  text.put('!');
  EXPECT_EQ(text.view(), "abcde-12");
  text.clear();
  EXPECT_EQ(text.view(), "");
  text.write("again");
  EXPECT_EQ(text.view(), "again");
}

} // namespace
} // namespace morgana

namespace morgana {
namespace {

TEST(FormatString, BuildsAGrowingString) {
  EXPECT_EQ(format_string("{}:{} {}", std::string_view("host"), 8443, std::string(300, 'x')),
            "host:8443 " + std::string(300, 'x'));
}

} // namespace
} // namespace morgana
