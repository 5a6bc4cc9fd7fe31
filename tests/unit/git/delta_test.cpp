#include "morgana/git/delta.h"

#include <gtest/gtest.h>
#include <string>

#include "hex.h"

namespace morgana::git {
namespace {

using test_support::from_hex;

std::string patch(std::string_view base, const std::vector<std::byte>& delta, std::size_t limit = 1 << 20) {
  auto result = apply_delta(as_bytes(base), delta, limit);
  if (!result) return "error:" + std::string(result.error().name());
  return std::string(as_string(result->bytes()));
}

TEST(GitDelta, CopiesAndInserts) {
  // base 11, result 9: copy offset 6 size 5 ("world"), insert 4 bytes "!!!!".
  EXPECT_EQ(patch("hello world", from_hex("0b 09 91 06 05 04 21 21 21 21")), "world!!!!");
  // No offset bytes: offset 0; size byte 0x05.
  EXPECT_EQ(patch("hello world", from_hex("0b 05 90 05")), "hello");
}

TEST(GitDelta, SizeZeroMeansSixtyFourKiB) {
  std::string base(0x10000, 'z');
  // base 0x10000 = varint 80 80 04; result the same; copy with no size bytes.
  auto result = patch(base, from_hex("80 80 04 80 80 04 80"));
  EXPECT_EQ(result, base);
}

TEST(GitDelta, RefusesCopiesPastTheBase) {
  EXPECT_EQ(patch("hello", from_hex("05 06 91 00 06")), "error:malformed");
  EXPECT_EQ(patch("hello", from_hex("05 01 91 05 01")), "error:malformed");
  EXPECT_EQ(patch("hello", from_hex("05 01 98 ff ff ff ff 01")), "error:malformed");
}

TEST(GitDelta, RefusesSizeMismatches) {
  EXPECT_EQ(patch("hello", from_hex("04 05 90 05")), "error:malformed");    // base size
  EXPECT_EQ(patch("hello", from_hex("05 04 90 05")), "error:malformed");    // writes past result
  EXPECT_EQ(patch("hello", from_hex("05 06 90 05")), "error:malformed");    // result short
  EXPECT_EQ(patch("hello", from_hex("05 02 03 61 62")), "error:truncated"); // insert runs past
  EXPECT_EQ(patch("hello", from_hex("05 01 00")), "error:malformed");       // reserved instruction
  EXPECT_EQ(patch("hello", from_hex("05 80 80 80 04 90 05"), 1 << 16), "error:limit_reached");
  EXPECT_EQ(patch("hello", from_hex("05")), "error:truncated");
  EXPECT_EQ(patch("", from_hex("00 ff ff ff ff ff ff ff ff ff ff 01")), "error:malformed");
}

TEST(GitDelta, EmptyResult) { EXPECT_EQ(patch("hello", from_hex("05 00")), ""); }

} // namespace
} // namespace morgana::git
