#include "morgana/core/ascii.h"

#include <gtest/gtest.h>

#include <string>

namespace morgana::ascii {
namespace {

TEST(Ascii, ClassesMatchTheirRangesExactly) {
  for (int i = -128; i < 128; ++i) {
    auto c = static_cast<char>(i);
    bool digit = i >= '0' && i <= '9';
    bool alpha = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z');
    EXPECT_EQ(is_digit(c), digit) << i;
    EXPECT_EQ(is_alpha(c), alpha) << i;
    EXPECT_EQ(is_alnum(c), digit || alpha) << i;
  }
}

TEST(Ascii, HexDigitValues) {
  EXPECT_EQ(hex_digit_value('0'), 0);
  EXPECT_EQ(hex_digit_value('9'), 9);
  EXPECT_EQ(hex_digit_value('a'), 10);
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('f'), 15);
  for (char c : std::string("gG/:@`xX \x7f")) {
    EXPECT_EQ(hex_digit_value(c), -1) << c;
    EXPECT_FALSE(is_hex_digit(c)) << c;
  }
  EXPECT_EQ(hex_digit_value(static_cast<char>(0xc1)), -1);
  static_assert(hex_digit_value('B') == 11);
}

TEST(Ascii, ToLowerChangesOnlyUpperCaseLetters) {
  EXPECT_EQ(to_lower('A'), 'a');
  EXPECT_EQ(to_lower('Z'), 'z');
  EXPECT_EQ(to_lower('m'), 'm');
  // The neighbours of the upper-case range stay as they are.
  EXPECT_EQ(to_lower('@'), '@');
  EXPECT_EQ(to_lower('['), '[');
  // No locale: Latin-1 'À' (0xc0) is not folded.
  EXPECT_EQ(to_lower(static_cast<char>(0xc0)), static_cast<char>(0xc0));
}

TEST(Ascii, EqualsIgnoringCase) {
  EXPECT_TRUE(equals_ignoring_case("Content-Length", "content-length"));
  EXPECT_TRUE(equals_ignoring_case("", ""));
  EXPECT_FALSE(equals_ignoring_case("chunked", "chunke"));
  EXPECT_FALSE(equals_ignoring_case("chunked", "chunkeD "));
  // '@' and '`' differ from each other by the case bit but are not letters.
  EXPECT_FALSE(equals_ignoring_case("@", "`"));
  static_assert(equals_ignoring_case("HTTP", "http"));
}

TEST(Ascii, StartsWithIgnoringCase) {
  EXPECT_TRUE(starts_with_ignoring_case("Text/HTML", "text/"));
  EXPECT_TRUE(starts_with_ignoring_case("bytes=0-", ""));
  EXPECT_FALSE(starts_with_ignoring_case("tex", "text/"));
  EXPECT_FALSE(starts_with_ignoring_case("image/png", "text/"));
}

TEST(Ascii, TrimRemovesOnlyTheGivenCharactersAtTheEnds) {
  EXPECT_EQ(trim("  a b \t", " \t"), "a b");
  EXPECT_EQ(trim("/Posts/", "/"), "Posts");
  EXPECT_EQ(trim(" \t ", " \t"), "");
  EXPECT_EQ(trim("", " "), "");
  EXPECT_EQ(trim("x", " "), "x");
  EXPECT_EQ(trim("\na\n", " "), "\na\n");
}

} // namespace
} // namespace morgana::ascii
