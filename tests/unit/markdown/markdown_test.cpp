#include "morgana/markdown/markdown.h"

#include <gtest/gtest.h>
#include <string>

namespace morgana::markdown {
namespace {

std::string html(std::string_view markdown, const MarkdownOptions& options = {}) {
  auto rendered = render_html(markdown, options);
  EXPECT_TRUE(rendered.has_value()) << rendered.error().name();
  return rendered.value_or("");
}

TEST(Markdown, CommonMarkBasics) {
  EXPECT_EQ(html("# Title\n\nSome *emphasis*, **strong** and `code`.\n"),
            "<h1>Title</h1>\n<p>Some <em>emphasis</em>, <strong>strong</strong> and <code>code</code>.</p>\n");
  EXPECT_EQ(html("a < b & c\n"), "<p>a &lt; b &amp; c</p>\n");
}

TEST(Markdown, EmptyInputIsEmptyHtml) {
  EXPECT_EQ(html(""), "");
  EXPECT_EQ(html("\n\n   \n"), "");
}

TEST(Markdown, Tables) {
  EXPECT_EQ(html("| Name | Size |\n|:-----|-----:|\n| a | 1 |\n| b |\n"), "<table>\n"
                                                                          "<thead>\n"
                                                                          "<tr>\n"
                                                                          "<th align=\"left\">Name</th>\n"
                                                                          "<th align=\"right\">Size</th>\n"
                                                                          "</tr>\n"
                                                                          "</thead>\n"
                                                                          "<tbody>\n"
                                                                          "<tr>\n"
                                                                          "<td align=\"left\">a</td>\n"
                                                                          "<td align=\"right\">1</td>\n"
                                                                          "</tr>\n"
                                                                          "<tr>\n"
                                                                          "<td align=\"left\">b</td>\n"
                                                                          "<td align=\"right\"></td>\n"
                                                                          "</tr>\n"
                                                                          "</tbody>\n"
                                                                          "</table>\n");
}

TEST(Markdown, Strikethrough) { EXPECT_EQ(html("~~gone~~ kept\n"), "<p><del>gone</del> kept</p>\n"); }

TEST(Markdown, Autolinks) {
  EXPECT_EQ(html("see www.example.org and https://example.com/a?b=c.\n"),
            "<p>see <a href=\"http://www.example.org\">www.example.org</a> and "
            "<a href=\"https://example.com/a?b=c\">https://example.com/a?b=c</a>.</p>\n");
}

TEST(Markdown, TaskLists) {
  EXPECT_EQ(html("- [ ] todo\n- [x] done\n"), "<ul>\n"
                                              "<li><input type=\"checkbox\" disabled=\"\" /> todo</li>\n"
                                              "<li><input type=\"checkbox\" checked=\"\" disabled=\"\" /> done</li>\n"
                                              "</ul>\n");
}

TEST(Markdown, Footnotes) {
  EXPECT_EQ(html("Claim[^note].\n\n[^note]: Source.\n"),
            "<p>Claim<sup class=\"footnote-ref\"><a href=\"#fn-note\" id=\"fnref-note\" data-footnote-ref>1</a></sup>."
            "</p>\n"
            "<section class=\"footnotes\" data-footnotes>\n"
            "<ol>\n"
            "<li id=\"fn-note\">\n"
            "<p>Source. <a href=\"#fnref-note\" class=\"footnote-backref\" data-footnote-backref "
            "aria-label=\"Back to content\">\xE2\x86\xA9</a></p>\n"
            "</li>\n"
            "</ol>\n"
            "</section>\n");
}

TEST(Markdown, RawHtmlIsKept) {
  EXPECT_EQ(html("<div class=\"note\">\n<b>raw</b>\n</div>\n\nInline <span id=\"x\">span</span> and "
                 "<script>run()</script>.\n"),
            "<div class=\"note\">\n<b>raw</b>\n</div>\n"
            "<p>Inline <span id=\"x\">span</span> and <script>run()</script>.</p>\n");
  EXPECT_EQ(html("[link](javascript:alert(1))\n"), "<p><a href=\"javascript:alert(1)\">link</a></p>\n");
}

TEST(Markdown, FencedCodeKeepsItsLanguageAsAClass) {
  EXPECT_EQ(html("```cpp linenos\nint x = 1 < 2;\n```\n"),
            "<pre><code class=\"language-cpp\">int x = 1 &lt; 2;\n</code></pre>\n");
  EXPECT_EQ(html("```\nplain\n```\n"), "<pre><code>plain\n</code></pre>\n");
}

TEST(Markdown, SmartPunctuationOnlyWhenAsked) {
  EXPECT_EQ(html("\"quoted\" -- dash\n"), "<p>&quot;quoted&quot; -- dash</p>\n");
  EXPECT_EQ(html("\"quoted\" -- dash\n", {.smart = true}), "<p>\xE2\x80\x9Cquoted\xE2\x80\x9D \xE2\x80\x93 dash</p>\n");
}

TEST(Markdown, InvalidUtf8AndNulBecomeReplacementCharacters) {
  EXPECT_EQ(html(std::string_view("a\xFF"
                                  "b\0c\n",
                                  6)),
            "<p>a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD"
            "c</p>\n");
}

TEST(Markdown, InputOverTheLimitIsRefused) {
  MarkdownOptions options{.max_input = 10};
  EXPECT_EQ(html("0123456789", options), "<p>0123456789</p>\n");
  auto refused = render_html("0123456789a", options);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), Errc::limit_reached);
}

// A table pads every row to its header's width: 4 KiB of input ask for
// hundreds of KiB of HTML, which the memory budget stops, and nothing leaks
// (AddressSanitizer's leak check would fail the run).
TEST(Markdown, MemoryBudgetStopsOutputThatOutgrowsTheInput) {
  std::string table = "|a|a|a|a|a|a|a|a|a|a|\n|-|-|-|-|-|-|-|-|-|-|\n";
  std::string rows;
  for (int i = 0; i < 2000; ++i) rows += "|x\n";
  std::string markdown = table + rows;
  auto fits = render_html(markdown);
  ASSERT_TRUE(fits.has_value());
  EXPECT_GT(fits->size(), 100'000u);

  auto stopped = render_html(markdown, {.max_memory = 64 * 1024});
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error(), Errc::no_memory);
  // A budget too small even for the parser fails the same way.
  auto tiny = render_html("text", {.max_memory = 16});
  ASSERT_FALSE(tiny.has_value());
  EXPECT_EQ(tiny.error(), Errc::no_memory);
  // And a later call is unaffected.
  EXPECT_EQ(html("after\n"), "<p>after</p>\n");
}

TEST(Markdown, DeepNestingRenders) {
  std::string quotes(20'000, '>');
  auto rendered = render_html(quotes + " deep\n");
  ASSERT_TRUE(rendered.has_value());
  EXPECT_NE(rendered->find("<p>deep</p>"), std::string::npos);
  std::string lists;
  for (int i = 0; i < 500; ++i) lists += std::string(static_cast<std::size_t>(i) * 2, ' ') + "- item\n";
  ASSERT_TRUE(render_html(lists).has_value());
  std::string brackets(20'000, '[');
  ASSERT_TRUE(render_html(brackets + "a" + std::string(20'000, ']')).has_value());
}

std::string first_text(std::string_view markdown, std::size_t max_length = 1000) {
  auto text = first_paragraph_text(markdown, max_length);
  EXPECT_TRUE(text.has_value()) << text.error().name();
  return text.value_or("<error>");
}

TEST(MarkdownFirstParagraph, KeepsTheTextOfItsMarkup) {
  EXPECT_EQ(first_text("# Title\n\nFirst *para* with `a < b`,\na [link](https://x/) and ![an image](i.png)<br>.\n\n"
                       "Second.\n"),
            "First para with a < b, a link and an image.");
  EXPECT_EQ(first_text("> Quoted first.\n\nThen this.\n"), "Quoted first.");
  EXPECT_EQ(first_text("Hard  \nbreak &amp; entity\n"), "Hard break & entity");
}

TEST(MarkdownFirstParagraph, EmptyWithoutAParagraph) {
  EXPECT_EQ(first_text(""), "");
  EXPECT_EQ(first_text("# Only a title\n\n```\ncode\n```\n"), "");
}

TEST(MarkdownFirstParagraph, CutsBetweenCharacters) {
  // "é" is two bytes (1 and 2): a cut after byte 2 keeps it, after byte 1 drops it.
  EXPECT_EQ(first_text("h\xC3\xA9llo *w*orld\n", 3), "h\xC3\xA9");
  EXPECT_EQ(first_text("h\xC3\xA9llo\n", 2), "h");
  EXPECT_EQ(first_text("hello *world*\n", 8), "hello wo");
  EXPECT_EQ(first_text("hello\n", 0), "");
}

TEST(MarkdownFirstParagraph, LimitsAsRenderHtml) {
  auto refused = first_paragraph_text("0123456789a", 100, {.max_input = 10});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), Errc::limit_reached);
  auto stopped = first_paragraph_text("text", 100, {.max_memory = 16});
  ASSERT_FALSE(stopped.has_value());
  EXPECT_EQ(stopped.error(), Errc::no_memory);
}

} // namespace
} // namespace morgana::markdown
