#include "morgana/http/target.h"

#include <gtest/gtest.h>

namespace morgana::http {
namespace {

TEST(HttpTarget, SplitsOriginForm) {
  auto target = parse_request_target("/a/b?x=1&y", "GET");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->form, TargetForm::origin);
  EXPECT_EQ(target->path, "/a/b");
  EXPECT_EQ(target->query, "x=1&y");
}

TEST(HttpTarget, SplitsAbsoluteForm) {
  auto target = parse_request_target("HTTPS://example.com:8443?q", "GET");
  EXPECT_FALSE(target);
  target = parse_request_target("http://example.com", "GET");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->authority, "example.com");
  EXPECT_EQ(target->path, "/");
  EXPECT_FALSE(parse_request_target("http://user@example.com/", "GET"));
  EXPECT_FALSE(parse_request_target("ftp://example.com/", "GET"));
}

TEST(HttpTarget, ValidatesHosts) {
  EXPECT_TRUE(is_valid_host("example.com"));
  EXPECT_TRUE(is_valid_host("example.com:8080"));
  EXPECT_TRUE(is_valid_host("10.0.0.2:80"));
  EXPECT_TRUE(is_valid_host("[::1]:80"));
  EXPECT_FALSE(is_valid_host("a b"));
  EXPECT_FALSE(is_valid_host("a:b"));
  EXPECT_FALSE(is_valid_host("[::1"));
  EXPECT_FALSE(is_valid_host("a/b"));
}

TEST(HttpTarget, NormalizesPaths) {
  EXPECT_EQ(normalize_path("/"), "/");
  EXPECT_EQ(normalize_path("/a/b/../c/./d"), "/a/c/d");
  EXPECT_EQ(normalize_path("/../../etc/passwd"), "/etc/passwd");
  EXPECT_EQ(normalize_path("/%2e%2e/%2E%2E/secret"), "/secret");
  EXPECT_EQ(normalize_path("/a/.."), "/");
  EXPECT_EQ(normalize_path("/a/b/."), "/a/b/");
  EXPECT_EQ(normalize_path("/dir/"), "/dir/");
  EXPECT_EQ(normalize_path("/hello%20world"), "/hello world");
  EXPECT_EQ(normalize_path("/a..b/.c"), "/a..b/.c");
}

TEST(HttpTarget, RejectsDangerousPaths) {
  EXPECT_FALSE(normalize_path("/a%2Fb"));
  EXPECT_FALSE(normalize_path("/a%2fb"));
  EXPECT_FALSE(normalize_path("/a%00"));
  EXPECT_FALSE(normalize_path("/a%zz"));
  EXPECT_FALSE(normalize_path("/a%2"));
  EXPECT_FALSE(normalize_path("relative"));
}

TEST(HttpTarget, PercentDecodesQueries) {
  EXPECT_EQ(percent_decode("a+b%21", true), "a b!");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
}

TEST(HttpTarget, PercentEncodesPaths) {
  EXPECT_EQ(percent_encode_path("/Posts/Hello-world_1.~"), "/Posts/Hello-world_1.~");
  EXPECT_EQ(percent_encode_path("/a b/c?d#e%f"), "/a%20b/c%3Fd%23e%25f");
  EXPECT_EQ(percent_encode_path("/caf\xC3\xA9\"<>"), "/caf%C3%A9%22%3C%3E");
  EXPECT_EQ(percent_decode(percent_encode_path("/x y/\xFF%")), "/x y/\xFF%");
}

} // namespace
} // namespace morgana::http
