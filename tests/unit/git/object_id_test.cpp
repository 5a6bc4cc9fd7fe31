#include "morgana/git/object_id.h"

#include <gtest/gtest.h>
#include <unordered_set>

#include "morgana/git/object.h"

#include "fixtures.h"

namespace morgana::git {
namespace {

TEST(GitObjectId, HexRoundTrips) {
  auto id = MUST(ObjectId::parse_hex("069ce299513fbdfa1e133fedd8998e6aafc9cbd4"));
  EXPECT_EQ(id.to_hex(), "069ce299513fbdfa1e133fedd8998e6aafc9cbd4");
  EXPECT_EQ(MUST(ObjectId::parse_hex("069CE299513FBDFA1E133FEDD8998E6AAFC9CBD4")), id);
  EXPECT_EQ(std::to_integer<int>(id.bytes()[0]), 0x06);
  EXPECT_FALSE(id.is_zero());
  EXPECT_TRUE(ObjectId().is_zero());
}

TEST(GitObjectId, RejectsBadHex) {
  EXPECT_EQ(ObjectId::parse_hex("069ce299").error(), Errc::malformed);
  EXPECT_EQ(ObjectId::parse_hex("g69ce299513fbdfa1e133fedd8998e6aafc9cbd4").error(), Errc::malformed);
  EXPECT_EQ(ObjectId::from_bytes(Bytes()).error(), Errc::malformed);
}

TEST(GitObjectId, RefusesSha256) {
  auto sha256 = ObjectId::parse_hex("6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
  ASSERT_FALSE(sha256);
  EXPECT_EQ(sha256.error(), Errc::unsupported);
  EXPECT_EQ(parse_object_format("sha256").error(), Errc::unsupported);
  EXPECT_EQ(MUST(parse_object_format("sha1")), ObjectFormat::sha1);
  EXPECT_EQ(parse_object_format("md5").error(), Errc::malformed);
}

TEST(GitObjectId, OrdersAndHashes) {
  auto a = MUST(ObjectId::parse_hex("0000000000000000000000000000000000000001"));
  auto b = MUST(ObjectId::parse_hex("0100000000000000000000000000000000000000"));
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
  std::unordered_set<ObjectId> set{a, b, a};
  EXPECT_EQ(set.size(), 2u);
}

TEST(GitObjectId, IdIsTheHashOfHeaderAndContent) {
  // git hash-object -t blob /dev/null
  EXPECT_EQ(object_id(ObjectType::blob, {}).to_hex(), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  auto readme = MUST(ObjectId::parse_hex(fixtures::readme_id));
  EXPECT_TRUE(verify(readme, ObjectType::blob, fixtures::readme));
  EXPECT_EQ(verify(readme, ObjectType::commit, fixtures::readme).error(), Errc::bad_checksum);
  auto changed = fixtures::readme;
  changed[10] ^= std::byte{1};
  EXPECT_EQ(verify(readme, ObjectType::blob, changed).error(), Errc::bad_checksum);
}

TEST(GitObjectType, Names) {
  EXPECT_EQ(type_name(ObjectType::tree), "tree");
  EXPECT_EQ(parse_type_name("tag"), ObjectType::tag);
  EXPECT_FALSE(parse_type_name("ofs-delta"));
}

} // namespace
} // namespace morgana::git
