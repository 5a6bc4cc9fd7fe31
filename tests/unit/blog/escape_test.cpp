#include "morgana/blog/escape.h"

#include <gtest/gtest.h>

namespace morgana::blog {
namespace {

TEST(BlogEscape, EscapesMarkupCharacters) {
  EXPECT_EQ(escaped(R"(<script>alert("x" & 'y')</script>)"),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;");
  EXPECT_EQ(escaped("&amp;"), "&amp;amp;"); // text is text, even when it looks escaped
  EXPECT_EQ(escaped(""), "");
}

TEST(BlogEscape, KeepsWellFormedUtf8AndWhitespace) {
  for (std::string_view text : {"plain text", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "tab\there\nline\r\n",
                                "\xEF\xBF\xBD", "\xEE\x80\x80" /* U+E000, private use */}) {
    EXPECT_EQ(escaped(text), text);
  }
}

TEST(BlogEscape, ReplacesWhatXmlForbids) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(escaped(std::string_view("a\0b", 3)), "a" + replacement + "b");
  EXPECT_EQ(escaped("\x01\x08\x0B\x0C\x1F\x7F"),
            replacement + replacement + replacement + replacement + replacement + replacement);
  EXPECT_EQ(escaped("\xEF\xBF\xBE|\xEF\xBF\xBF"), replacement + "|" + replacement); // U+FFFE, U+FFFF
}

TEST(BlogEscape, ReplacesBytesThatAreNotUtf8) {
  const std::string replacement = "\xEF\xBF\xBD";
  // Each byte that starts no well-formed sequence is replaced on its own.
  EXPECT_EQ(escaped("\xC0\xAF"), replacement + replacement);                                     // overlong '/'
  EXPECT_EQ(escaped("\xE0\x80\xAF"), replacement + replacement + replacement);                   // overlong '/'
  EXPECT_EQ(escaped("\xED\xA0\x80"), replacement + replacement + replacement);                   // a surrogate
  EXPECT_EQ(escaped("\xF4\x90\x80\x80"), replacement + replacement + replacement + replacement); // past U+10FFFF
  EXPECT_EQ(escaped("x\xC3"), "x" + replacement);                                                // truncated at the end
  EXPECT_EQ(escaped("\xC3<"), replacement + "&lt;"); // a truncated sequence does not swallow markup
  EXPECT_EQ(escaped("\xFF\xFE"), replacement + replacement);
}

} // namespace
} // namespace morgana::blog
