#include "morgana/core/net_offload.h"

#include <gtest/gtest.h>

#include <string>

namespace morgana {
namespace {

NetOffloads parsed(std::string_view text) {
  NetOffloads offloads{true, false, true, false}; // overwritten on success
  EXPECT_TRUE(parse_value(text, offloads)) << text;
  return offloads;
}

TEST(NetOffloadTest, ParsesAllNoneAndLists) {
  EXPECT_EQ(parsed("all"), (NetOffloads{true, true, true, true}));
  EXPECT_EQ(parsed("none"), NetOffloads{});
  EXPECT_EQ(parsed("tx-csum"), (NetOffloads{true, false, false, false}));
  EXPECT_EQ(parsed("rx-csum,gro"), (NetOffloads{false, true, false, true}));
  EXPECT_EQ(parsed("tso,tx-csum,rx-csum"), (NetOffloads{true, true, true, false}));
}

TEST(NetOffloadTest, RefusesUnknownWordsAndMissingPrerequisites) {
  for (std::string_view text : {"", "tso", "gro", "tx-csum,", "csum", "all,tso", "tx-csum,,rx-csum", "TSO"}) {
    NetOffloads offloads{true, true, true, true};
    auto result = parse_value(text, offloads);
    ASSERT_FALSE(result) << text;
    EXPECT_EQ(result.error(), Errc::invalid_argument) << text;
    EXPECT_EQ(offloads, (NetOffloads{true, true, true, true})) << text << ": left unchanged";
  }
}

TEST(NetOffloadTest, FormatsAsItParses) {
  for (std::string_view text : {"all", "none", "tx-csum", "rx-csum,gro", "tx-csum,rx-csum,tso"}) {
    auto offloads = parsed(text);
    EXPECT_EQ(format_string("{}", offloads), text);
  }
}

TEST(NetOffloadTest, IntersectionKeepsWhatBothHave) {
  NetOffloads device{true, true, false, true};
  NetOffloads allowed{true, false, true, true};
  EXPECT_EQ(device & allowed, (NetOffloads{true, false, false, true}));
}

} // namespace
} // namespace morgana
