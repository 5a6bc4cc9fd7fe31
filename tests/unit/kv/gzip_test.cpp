#include "morgana/kv/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace morgana::kv {
namespace {

std::string gunzip(const std::string& member) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string output(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(member.data()));
  stream.avail_in = static_cast<uInt>(member.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  output.resize(stream.total_out);
  inflateEnd(&stream);
  return output;
}

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
