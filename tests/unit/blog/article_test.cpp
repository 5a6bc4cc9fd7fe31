#include "morgana/blog/article.h"

#include <gtest/gtest.h>

namespace morgana::blog {
namespace {

Article article_of(std::string_view text) {
  auto content = parse_content(text);
  EXPECT_TRUE(content.has_value()) << text << ": " << (content ? "" : content.error().context);
  if (!content || !std::holds_alternative<Article>(*content)) {
    ADD_FAILURE() << "not an article: " << text;
    return {};
  }
  return std::get<Article>(*content);
}

std::string_view error_of(std::string_view text) {
  auto content = parse_content(text);
  EXPECT_FALSE(content.has_value()) << text;
  return content ? "" : content.error().context;
}

TEST(BlogArticle, PathRolesFollowCanopysLayout) {
  EXPECT_EQ(role_of(".config/uuid"), PathRole::config);
  EXPECT_EQ(role_of("static/css/style.css"), PathRole::static_file);
  EXPECT_EQ(role_of("Posts/Hello"), PathRole::content);
  EXPECT_EQ(role_of("About"), PathRole::content);
  // Only the first component counts, and only whole.
  EXPECT_EQ(role_of("Posts/static/x"), PathRole::content);
  EXPECT_EQ(role_of("statics/x"), PathRole::content);
  EXPECT_EQ(role_of(".configs"), PathRole::content);
  EXPECT_EQ(role_of("static"), PathRole::static_file);
}

TEST(BlogArticle, ReadsEveryKnownKey) {
  auto article = article_of("---\n"
                            "title: Hello, world\n"
                            "author: Ada\n"
                            "author_url: https://example.org/ada\n"
                            "abstract: A first post.\n"
                            "tags: one, two\n"
                            "---\n"
                            "# Heading\n\nText.\n");
  EXPECT_EQ(article.title, "Hello, world");
  EXPECT_EQ(article.author, "Ada");
  EXPECT_EQ(article.author_url, "https://example.org/ada");
  EXPECT_EQ(article.abstract, "A first post.");
  EXPECT_EQ(article.tags, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(article.body, "# Heading\n\nText.\n");
}

TEST(BlogArticle, OptionalKeysMayBeAbsent) {
  auto article = article_of("---\ntitle: T\nauthor: A\n---\nbody");
  EXPECT_EQ(article.author_url, "");
  EXPECT_EQ(article.abstract, "");
  EXPECT_TRUE(article.tags.empty());
  EXPECT_EQ(article.body, "body");
}

TEST(BlogArticle, ReadsCrlfLikeLf) {
  auto article = article_of("---\r\ntitle: T\r\nauthor: A\r\ntags: x\r\n---\r\nbody\r\n");
  EXPECT_EQ(article.title, "T");
  EXPECT_EQ(article.author, "A");
  EXPECT_EQ(article.tags, (std::vector<std::string>{"x"}));
  EXPECT_EQ(article.body, "body\r\n"); // the body is markdown's business, left as written
}

TEST(BlogArticle, TrimsKeysAndValuesAndSkipsBlankLines) {
  auto article = article_of("---\n\n  title :\t Spaced out \t\n   \nauthor:A\n---\n");
  EXPECT_EQ(article.title, "Spaced out");
  EXPECT_EQ(article.author, "A");
  EXPECT_EQ(article.body, "");
}

TEST(BlogArticle, SplitsAtTheFirstColon) {
  auto article = article_of("---\ntitle: Re: a reply: with colons\nauthor: A\n"
                            "author_url: https://example.org:8443/a\n---\n");
  EXPECT_EQ(article.title, "Re: a reply: with colons");
  EXPECT_EQ(article.author_url, "https://example.org:8443/a");
}

TEST(BlogArticle, FirstOfRepeatedKeysCounts) {
  auto article = article_of("---\ntitle: First\nauthor: A\ntitle: Second\n---\n");
  EXPECT_EQ(article.title, "First");
}

TEST(BlogArticle, IgnoresUnknownKeysAndKeysAreCaseSensitive) {
  auto article = article_of("---\ntitle: T\nauthor: A\ndate: 2016-01-01\nTags: ignored\n---\n");
  EXPECT_TRUE(article.tags.empty());
  EXPECT_EQ(error_of("---\nTitle: T\nauthor: A\n---\n"), "the header has no title");
}

TEST(BlogArticle, TagsAreTrimmedWithEmptiesAndRepeatsDropped) {
  auto article = article_of("---\ntitle: T\nauthor: A\ntags: ,  mirage ,,ocaml, mirage,  , unikernel ,\n---\n");
  EXPECT_EQ(article.tags, (std::vector<std::string>{"mirage", "ocaml", "unikernel"}));
  EXPECT_TRUE(article_of("---\ntitle: T\nauthor: A\ntags:\n---\n").tags.empty());
}

TEST(BlogArticle, OnlyAWholeFenceLineClosesTheHeader) {
  auto article = article_of("---\ntitle: A---B\nauthor: A\n---\nText\n---\nMore\n");
  EXPECT_EQ(article.title, "A---B");
  EXPECT_EQ(article.body, "Text\n---\nMore\n"); // a later fence is a markdown rule
}

TEST(BlogArticle, FencesMayCarryTrailingBlanks) {
  auto article = article_of("---  \ntitle: T\nauthor: A\n--- \t\r\nbody");
  EXPECT_EQ(article.title, "T");
  EXPECT_EQ(article.body, "body");
}

TEST(BlogArticle, ContentTypeMustBeMarkdown) {
  EXPECT_EQ(article_of("---\ntitle: T\nauthor: A\ncontent: markdown\n---\n").title, "T");
  auto content = parse_content("---\ntitle: T\nauthor: A\ncontent: html\n---\n");
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code, Errc::unsupported);
}

TEST(BlogArticle, NamesWhyAFileIsNoArticle) {
  EXPECT_EQ(error_of(""), "the file is empty");
  EXPECT_EQ(error_of("---\nauthor: A\n---\n"), "the header has no title");
  EXPECT_EQ(error_of("---\ntitle: T\n---\n"), "the header has no author");
  EXPECT_EQ(error_of("---\ntitle:   \nauthor: A\n---\n"), "the header's title is empty");
  EXPECT_EQ(error_of("---\ntitle: T\nauthor:\n---\n"), "the header's author is empty");
  EXPECT_EQ(error_of("---\ntitle: T\nauthor: A\n"), "the header has no closing '---' line");
  EXPECT_EQ(error_of("---\ntitle: T\nauthor A\n---\n"), "a header line is not 'key: value'");
  EXPECT_EQ(error_of("---\ntitle: T\n: A\n---\n"), "a header line has an empty key");
  EXPECT_EQ(error_of("# Just markdown\n\nNo header here.\n"), "no header (a first line '---') and no 'redirect:' line");
  // The header must open the file.
  EXPECT_EQ(error_of("\n---\ntitle: T\nauthor: A\n---\n"), "no header (a first line '---') and no 'redirect:' line");
  EXPECT_EQ(error_of("---title: T\nauthor: A\n---\n"), "no header (a first line '---') and no 'redirect:' line");
}

TEST(BlogArticle, ReadsRedirects) {
  for (std::string_view text : {"redirect: /Posts/Hello", "redirect:/Posts/Hello\n", "  redirect:  /Posts/Hello  \r\n",
                                "Moved.\nredirect: /Posts/Hello\nredirect: /elsewhere\n"}) {
    auto content = parse_content(text);
    ASSERT_TRUE(content) << text;
    ASSERT_TRUE(std::holds_alternative<Redirect>(*content)) << text;
    EXPECT_EQ(std::get<Redirect>(*content).target, "/Posts/Hello") << text;
  }
  EXPECT_EQ(std::get<Redirect>(*parse_content("redirect: https://example.org/x?y=1")).target,
            "https://example.org/x?y=1");
}

TEST(BlogArticle, RejectsBadRedirects) {
  EXPECT_EQ(error_of("redirect:\n"), "the redirect has no target");
  EXPECT_EQ(error_of("redirect: /a\rSet-Cookie: x=1\n"), "the redirect target holds a control character");
  // A file with a header is an article or nothing, even when it mentions a redirect.
  EXPECT_EQ(error_of("---\ntitle: T\n---\nredirect: /x\n"), "the header has no author");
  // Canopy's key is lowercase.
  EXPECT_EQ(error_of("Redirect: /x\n"), "no header (a first line '---') and no 'redirect:' line");
}

} // namespace
} // namespace morgana::blog
