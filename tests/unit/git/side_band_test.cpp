// The side-band-64k demultiplexer.

#include "morgana/git/side_band.h"

#include <gtest/gtest.h>

#include <string>

namespace morgana::git {
namespace {

TEST(SideBand, BandsGoWhereTheyBelong) {
  std::string pack;
  SideBandDemux demux([&](Bytes data) -> Result<void> {
    pack.append(as_string(data));
    return {};
  });
  ASSERT_TRUE(demux.on_line(as_bytes("\1PACK")));
  ASSERT_TRUE(demux.on_line(as_bytes("\2Counting objects: 50% (1/2)\r")));
  ASSERT_TRUE(demux.on_line(as_bytes("\1rest")));
  ASSERT_TRUE(demux.on_line(as_bytes("\1")));
  EXPECT_EQ(pack, "PACKrest");
  EXPECT_EQ(demux.pack_bytes(), 8u);
  EXPECT_TRUE(demux.error_text().empty());
}

TEST(SideBand, FatalBandKeepsTheText) {
  SideBandDemux demux([](Bytes) -> Result<void> { return {}; });
  auto outcome = demux.on_line(as_bytes("\3fatal: the remote end hung up\n"));
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error(), Errc::io_error);
  EXPECT_EQ(demux.error_text(), "fatal: the remote end hung up");
}

TEST(SideBand, MalformedLines) {
  SideBandDemux demux([](Bytes) -> Result<void> { return {}; });
  EXPECT_EQ(demux.on_line({}).error(), Errc::malformed);
  EXPECT_EQ(demux.on_line(as_bytes("\4x")).error(), Errc::malformed);
  EXPECT_EQ(demux.on_line(as_bytes("PACK")).error(), Errc::malformed);
}

TEST(SideBand, SinkErrorsStopTheStream) {
  SideBandDemux demux([](Bytes) -> Result<void> { return fail(Errc::no_memory, "pack store full"); });
  EXPECT_EQ(demux.on_line(as_bytes("\1PACK")).error(), Errc::no_memory);
}

} // namespace
} // namespace morgana::git
