// Absolute http(s) URLs and reference resolution (RFC 3986 §5.4 examples).

#include "morgana/http/url.h"

#include <gtest/gtest.h>

namespace morgana::http {
namespace {

Url parsed(std::string_view text) {
  auto url = Url::parse(text);
  EXPECT_TRUE(url.has_value()) << text << ": " << (url ? "" : url.error().context);
  return url.value_or(Url{});
}

std::string failure(std::string_view text, Errc expected = Errc::invalid_argument) {
  auto url = Url::parse(text);
  if (url) return "parsed";
  EXPECT_EQ(url.error().code, expected) << text;
  return std::string(url.error().context);
}

TEST(HttpUrl, ParsesSchemeHostPortAndTarget) {
  auto url = parsed("https://Example.ORG:8443/a/b?c=d&e#top");
  EXPECT_EQ(url.scheme, Scheme::https);
  EXPECT_EQ(url.host, "example.org");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.target, "/a/b?c=d&e");
  EXPECT_EQ(url.path(), "/a/b");
  EXPECT_EQ(url.authority(), "example.org:8443");
  EXPECT_EQ(url.to_string(), "https://example.org:8443/a/b?c=d&e");
}

TEST(HttpUrl, DefaultsPortAndPath) {
  auto url = parsed("HTTP://10.0.0.1");
  EXPECT_EQ(url.scheme, Scheme::http);
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.target, "/");
  EXPECT_EQ(url.authority(), "10.0.0.1");
  ASSERT_TRUE(url.address().has_value());
  EXPECT_EQ(*url.address(), net::Ipv4Address::from_octets(10, 0, 0, 1));
  EXPECT_EQ(parsed("https://h.test:/x").port, 443);
  EXPECT_EQ(parsed("https://h.test?q").target, "/?q");
  EXPECT_EQ(parsed("http://h.test:80/").authority(), "h.test");
  EXPECT_FALSE(parsed("http://h.test/").address().has_value());
  EXPECT_EQ(parsed("http://h.test/%41%2f").target, "/%41%2f");
}

TEST(HttpUrl, RejectsWithAReason) {
  EXPECT_EQ(failure("ftp://h.test/"), "URL scheme is not http or https");
  EXPECT_EQ(failure("/relative"), "URL is not absolute (expected http:// or https://)");
  EXPECT_EQ(failure("h.test/x"), "URL is not absolute (expected http:// or https://)");
  EXPECT_EQ(failure("http:/h.test"), "URL has no host (expected //host after the scheme)");
  EXPECT_EQ(failure("http://user:pw@h.test/"), "URL userinfo (user:password@) is not supported");
  EXPECT_EQ(failure("http://[::1]/", Errc::unsupported), "IPv6 address literals in URLs are not supported");
  EXPECT_EQ(failure("http:///x"), "URL has an empty host");
  EXPECT_EQ(failure("http://h.test:0/"), "URL port out of range");
  EXPECT_EQ(failure("http://h.test:65536/"), "URL port out of range");
  EXPECT_EQ(failure("http://h.test:8x/"), "URL port is not a number");
  EXPECT_EQ(failure("http://10.0.0.256/"), "bad IPv4 address in URL");
  EXPECT_EQ(failure("http://10.0.0/"), "bad IPv4 address in URL");
  EXPECT_EQ(failure("http://a..b/"), "empty label in URL host");
  EXPECT_EQ(failure("http://h!.test/"), "character not allowed in URL host");
  EXPECT_EQ(failure("http://h.test/a b"),
            "character not allowed in URL (space, control, non-ASCII or one of \"<>\\^`{|})");
  EXPECT_EQ(failure("http://h.test/\xc3\xa9"),
            "character not allowed in URL (space, control, non-ASCII or one of \"<>\\^`{|})");
  EXPECT_EQ(failure("http://h.test/%4"), "bad percent-encoding in URL");
  EXPECT_EQ(failure("http://h.test/%zz"), "bad percent-encoding in URL");
  EXPECT_EQ(failure("http://h.test/[x]"), "character not allowed in URL path or query");
}

TEST(HttpUrl, RemovesDotSegments) {
  // RFC 3986 §5.2.4's examples.
  EXPECT_EQ(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(remove_dot_segments("mid/content=5/../6"), "mid/6");
  EXPECT_EQ(remove_dot_segments("/.."), "/");
  EXPECT_EQ(remove_dot_segments("/a/.."), "/");
  EXPECT_EQ(remove_dot_segments("/a/."), "/a/");
}

TEST(HttpUrl, ResolvesReferencesAsRfc3986Section54) {
  auto base = parsed("http://a/b/c/d;p?q");
  auto resolve = [&](std::string_view reference) {
    auto url = base.resolve(reference);
    return url ? url->to_string() : "error: " + std::string(url.error().context);
  };
  EXPECT_EQ(resolve("g"), "http://a/b/c/g");
  EXPECT_EQ(resolve("./g"), "http://a/b/c/g");
  EXPECT_EQ(resolve("g/"), "http://a/b/c/g/");
  EXPECT_EQ(resolve("/g"), "http://a/g");
  EXPECT_EQ(resolve("//g"), "http://g/");
  EXPECT_EQ(resolve("?y"), "http://a/b/c/d;p?y");
  EXPECT_EQ(resolve("g?y"), "http://a/b/c/g?y");
  EXPECT_EQ(resolve("#s"), "http://a/b/c/d;p?q");
  EXPECT_EQ(resolve("g#s"), "http://a/b/c/g");
  EXPECT_EQ(resolve(";x"), "http://a/b/c/;x");
  EXPECT_EQ(resolve(""), "http://a/b/c/d;p?q");
  EXPECT_EQ(resolve("."), "http://a/b/c/");
  EXPECT_EQ(resolve(".."), "http://a/b/");
  EXPECT_EQ(resolve("../g"), "http://a/b/g");
  EXPECT_EQ(resolve("../.."), "http://a/");
  EXPECT_EQ(resolve("../../../g"), "http://a/g");
  EXPECT_EQ(resolve("/./g"), "http://a/g");
  EXPECT_EQ(resolve("g.."), "http://a/b/c/g..");
  EXPECT_EQ(resolve("./../g"), "http://a/b/g");
  EXPECT_EQ(resolve("g;x=1/../y"), "http://a/b/c/y");
  EXPECT_EQ(resolve("https://other.test:8443/x/../y"), "https://other.test:8443/y");
  EXPECT_EQ(resolve("mailto:someone@h.test"), "error: URL scheme is not http or https");
  EXPECT_EQ(resolve("a b"), "error: character not allowed in URL (space, control, non-ASCII or one of \"<>\\^`{|})");
}

TEST(HttpUrl, NetworkPathKeepsTheScheme) {
  auto base = parsed("https://a.test/x");
  auto url = base.resolve("//b.test:444/y");
  ASSERT_TRUE(url.has_value());
  EXPECT_EQ(url->scheme, Scheme::https);
  EXPECT_EQ(url->host, "b.test");
  EXPECT_EQ(url->port, 444);
}

} // namespace
} // namespace morgana::http
