#include "morgana/kv/gzip.h"

#include <gtest/gtest.h>

#include <string>

#include "gunzip.h"

namespace morgana::kv {
namespace {

using test_support::gunzip;

TEST(GzipTest, BothLevelsRoundTripWithATimelessHeader) {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "<li><a href=\"/Posts/" + std::to_string(i) + "\">post</a></li>\n";
  for (auto level : {GzipLevel::fast, GzipLevel::smallest}) {
    auto member = gzip(text, level);
    ASSERT_TRUE(member);
    ASSERT_GT(member->size(), 10u);
    EXPECT_EQ(static_cast<unsigned char>((*member)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*member)[1]), 0x8b);
    EXPECT_EQ(member->substr(4, 4), std::string(4, '\0')) << "modification time 0";
    EXPECT_LT(member->size(), text.size() / 5);
    EXPECT_EQ(gunzip(*member), text);
    EXPECT_EQ(gzip(text, level), member) << "the output depends on the content only";
  }
  EXPECT_LE(gzip(text, GzipLevel::smallest)->size(), gzip(text, GzipLevel::fast)->size());
}

TEST(GzipTest, EmptyContentIsAValidMember) {
  auto member = gzip("", GzipLevel::fast);
  ASSERT_TRUE(member);
  EXPECT_EQ(gunzip(*member), "");
}

} // namespace
} // namespace morgana::kv
