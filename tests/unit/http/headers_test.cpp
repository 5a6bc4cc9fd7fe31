#include "morgana/http/headers.h"

#include <gtest/gtest.h>

#include <string>

namespace morgana::http {
namespace {

TEST(HttpHeaders, LooksUpCaseInsensitively) {
  Headers headers;
  headers.add("Content-Type", "text/html");
  EXPECT_EQ(headers.get("content-type"), "text/html");
  EXPECT_EQ(headers.get("CONTENT-TYPE"), "text/html");
  EXPECT_FALSE(headers.get("Content-Length"));
}

TEST(HttpHeaders, ListsValuesAcrossLinesAndCommas) {
  Headers headers;
  headers.add("Accept-Encoding", "gzip, deflate ,, br");
  headers.add("accept-encoding", "zstd");
  headers.add("X", "\"a, b\", c");
  EXPECT_EQ(headers.list("Accept-Encoding"), (std::vector<std::string_view>{"gzip", "deflate", "br", "zstd"}));
  EXPECT_EQ(headers.list("X"), (std::vector<std::string_view>{"\"a, b\"", "c"}));
  EXPECT_EQ(headers.count("ACCEPT-ENCODING"), 2u);
}

TEST(HttpHeaders, FindsConnectionTokens) {
  Headers headers;
  headers.add("Connection", "Keep-Alive, Upgrade");
  EXPECT_TRUE(headers.has_token("connection", "keep-alive"));
  EXPECT_TRUE(headers.has_token("Connection", "upgrade"));
  EXPECT_FALSE(headers.has_token("Connection", "close"));
}

TEST(HttpHeaders, SetReplacesAndRemoveRemovesAll) {
  Headers headers;
  headers.add("A", "1");
  headers.add("a", "2");
  headers.add("B", "3");
  headers.set("A", "4");
  EXPECT_EQ(headers.count("A"), 1u);
  EXPECT_EQ(headers.get("A"), "4");
  EXPECT_EQ(headers.remove("b"), 1u);
  EXPECT_EQ(headers.size(), 1u);
}

TEST(HttpHeaders, CopiesOwnTheirFieldsAndMovesKeepThem) {
  std::string name = "X-View";
  std::string value = "temporary";
  Headers headers;
  headers.add_view(name, value);
  headers.add("X-Owned", "kept");
  Headers copy = headers;
  name = "changed";
  value = "changed!!";
  EXPECT_EQ(copy.get("X-View"), "temporary");
  Headers moved = std::move(copy);
  EXPECT_EQ(moved.get("X-Owned"), "kept");
  EXPECT_EQ(moved.get("X-View"), "temporary");
}

TEST(HttpHeaders, RecognisesTokens) {
  EXPECT_TRUE(is_token("GET"));
  EXPECT_TRUE(is_token("x-custom_1.2~"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_EQ(trim_ows(" \t x y \t"), "x y");
}

} // namespace
} // namespace morgana::http
