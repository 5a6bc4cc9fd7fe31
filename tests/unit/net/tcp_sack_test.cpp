#include "morgana/net/tcp_sack.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "counters.h"
#include "morgana/core/counter.h"
#include "morgana/net/tcp_congestion.h"

namespace morgana::net {
namespace {

constexpr std::uint32_t smss = 1000;

// Every scenario runs from several starting points: the middle of the space,
// just below 2^32 (so the segments wrap to 0) and just below 2^31.
constexpr std::uint32_t bases[] = {1, 0xFFFF'F800, 0x7FFF'FC00};

// Segments are numbered from the scenario's base: segment i holds
// [base + i * SMSS, base + (i + 1) * SMSS).
SequenceNumber at(SequenceNumber base, std::uint32_t segment) { return base + segment * smss; }
SackBlock segments(SequenceNumber base, std::uint32_t from, std::uint32_t to) { return {at(base, from), at(base, to)}; }

std::vector<SackBlock> expected_segments(SequenceNumber base,
                                         std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> spans) {
  std::vector<SackBlock> blocks;
  for (auto [from, to] : spans) blocks.push_back(segments(base, from, to));
  return blocks;
}

std::vector<SackBlock> ranges_of(const SackScoreboard& board) { return {board.ranges().begin(), board.ranges().end()}; }

using test_support::counter_value;

TEST(SackScoreboard, EmptyScoreboard) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SackScoreboard board{smss};
    EXPECT_TRUE(board.empty());
    EXPECT_EQ(board.sacked_bytes(), 0U);
    EXPECT_FALSE(board.is_lost(base));
    EXPECT_EQ(board.next_seg(base, base - 1, true).kind, NextSegment::Kind::new_data);
    EXPECT_EQ(board.next_seg(base, base - 1, false).kind, NextSegment::Kind::none);
    // Nothing SACKed, nothing lost: pipe = FlightSize.
    EXPECT_EQ(board.pipe(base, at(base, 10), base - 1), 10'000U);
  }
}

TEST(SackScoreboard, OneLoss) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    // Segment 0 is lost; 1, 2 and 3 arrive, each ACK reporting the block so far.
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 1, 2)}), 1000U);
    EXPECT_FALSE(board.is_lost(base)); // one range, 1000 bytes
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 1, 3)}), 1000U);
    EXPECT_FALSE(board.is_lost(base)); // 2000 bytes is not more than (3 - 1) * SMSS
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 1, 4)}), 1000U);
    EXPECT_TRUE(board.is_lost(base)); // 3000 bytes
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{1, 4}}));
    EXPECT_EQ(board.sacked_bytes(), 3000U);
    EXPECT_TRUE(board.is_sacked(at(base, 1)));
    EXPECT_FALSE(board.is_sacked(at(base, 4)));

    // Segment 0 is lost, 1-3 SACKed, 4-9 in flight: pipe = 6000.
    SequenceNumber high_rxt = base - 1;
    EXPECT_EQ(board.pipe(base, snd_nxt, high_rxt), 6000U);
    NextSegment next = board.next_seg(base, high_rxt, true);
    EXPECT_EQ(next.kind, NextSegment::Kind::retransmit); // rule 1 before new data
    EXPECT_EQ(next.seq, base);
    EXPECT_EQ(next.length, 1000U);

    // Once retransmitted, it counts in pipe again (SetPipe b) and is not chosen again.
    high_rxt = at(base, 1) - 1;
    EXPECT_EQ(board.pipe(base, snd_nxt, high_rxt), 7000U);
    EXPECT_EQ(board.next_seg(base, high_rxt, true).kind, NextSegment::Kind::new_data);
    EXPECT_EQ(board.next_seg(base, high_rxt, false).kind, NextSegment::Kind::none);

    // The retransmission fills the hole: the ACK covers 0-3 and clears the board.
    EXPECT_EQ(board.update(at(base, 4), snd_nxt, {}), 0U);
    EXPECT_TRUE(board.empty());
    EXPECT_EQ(board.pipe(at(base, 4), snd_nxt, high_rxt), 6000U);
  }
}

TEST(SackScoreboard, MultipleLosses) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    // Segments 0, 2 and 5 are lost; one ACK carries the three blocks (most recent first).
    EXPECT_EQ(board.update(base, snd_nxt, expected_segments(base, {{6, 10}, {3, 5}, {1, 2}})), 7000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{1, 2}, {3, 5}, {6, 10}}));
    // 0: three ranges above. 2: 6000 bytes above. 5: 4000 bytes above.
    EXPECT_TRUE(board.is_lost(at(base, 0)));
    EXPECT_TRUE(board.is_lost(at(base, 2)));
    EXPECT_TRUE(board.is_lost(at(base, 5)));
    // Everything unSACKed is lost and nothing is above the highest SACK.
    EXPECT_EQ(board.pipe(base, snd_nxt, base - 1), 0U);

    // NextSeg walks the holes upwards as HighRxt rises.
    SequenceNumber high_rxt = base - 1;
    for (std::uint32_t lost : {0U, 2U, 5U}) {
      NextSegment next = board.next_seg(base, high_rxt, true);
      ASSERT_EQ(next.kind, NextSegment::Kind::retransmit);
      EXPECT_EQ(next.seq, at(base, lost));
      EXPECT_EQ(next.length, 1000U);
      high_rxt = next.seq + next.length - 1;
    }
    EXPECT_EQ(board.next_seg(base, high_rxt, false).kind, NextSegment::Kind::none);
    EXPECT_EQ(board.pipe(base, snd_nxt, high_rxt), 3000U); // the three retransmissions
  }
}

TEST(SackScoreboard, HoleNotYetLostGoesAfterNewData) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    // 0 and 7 missing, 1-6 and 8 SACKed, 9 still in flight.
    board.update(base, snd_nxt, expected_segments(base, {{8, 9}, {1, 7}}));
    EXPECT_TRUE(board.is_lost(at(base, 0)));
    EXPECT_FALSE(board.is_lost(at(base, 7))); // one range, 1000 bytes above
    // Holes: 0 lost (0), 7 not lost (1000), 9 above the SACKs (1000).
    EXPECT_EQ(board.pipe(base, snd_nxt, base - 1), 2000U);
    EXPECT_EQ(board.next_seg(base, base - 1, true).seq, base); // rule 1
    SequenceNumber high_rxt = at(base, 1) - 1;
    // Rule 1 finds nothing lost; new data comes first (rule 2), else segment 7 (rule 3).
    EXPECT_EQ(board.next_seg(base, high_rxt, true).kind, NextSegment::Kind::new_data);
    NextSegment rule3 = board.next_seg(base, high_rxt, false);
    EXPECT_EQ(rule3.kind, NextSegment::Kind::retransmit);
    EXPECT_EQ(rule3.seq, at(base, 7));
    EXPECT_EQ(rule3.length, 1000U);
  }
}

TEST(SackScoreboard, SegmentsStayInsideTheHole) {
  SequenceNumber base{0xFFFF'FF00};
  SequenceNumber snd_nxt = base + 10'000;
  SackScoreboard board{smss};
  // A 2500-byte hole below 5000 SACKed bytes: SMSS, SMSS, then the last 500.
  board.update(base, snd_nxt, std::vector<SackBlock>{{base + 2500, base + 7500}});
  SequenceNumber high_rxt = base - 1;
  for (auto [offset, length] : {std::pair{0U, 1000U}, {1000U, 1000U}, {2000U, 500U}}) {
    NextSegment next = board.next_seg(base, high_rxt, false);
    ASSERT_EQ(next.kind, NextSegment::Kind::retransmit);
    EXPECT_EQ(next.seq, base + offset);
    EXPECT_EQ(next.length, length);
    high_rxt = next.seq + next.length - 1;
  }
  EXPECT_EQ(board.next_seg(base, high_rxt, false).kind, NextSegment::Kind::none);
}

TEST(SackScoreboard, BlocksInAnyOrderMergeToTheSameRanges) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    // ACKs reordered in the network: a later ACK's blocks arrive first.
    board.update(base, snd_nxt, std::vector{segments(base, 6, 7)});
    board.update(base, snd_nxt, std::vector{segments(base, 2, 3)});
    EXPECT_EQ(board.update(base, snd_nxt, expected_segments(base, {{4, 5}, {2, 3}})), 1000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{2, 3}, {4, 5}, {6, 7}}));
    // Adjacent blocks join.
    board.update(base, snd_nxt, std::vector{segments(base, 3, 4)});
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{2, 5}, {6, 7}}));
    board.update(base, snd_nxt, std::vector{segments(base, 5, 6)});
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{2, 7}}));
    EXPECT_EQ(board.sacked_bytes(), 5000U);
  }
}

TEST(SackScoreboard, OverlappingAndDuplicateBlocks) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 2, 4)}), 2000U);
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 3, 6)}), 2000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{2, 6}}));
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 2, 6)}), 0U); // duplicate
    EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 3, 4)}), 0U); // inside
    // One ACK whose blocks overlap each other and bridge two ranges.
    board.update(base, snd_nxt, std::vector{segments(base, 8, 9)});
    EXPECT_EQ(board.update(base, snd_nxt, expected_segments(base, {{5, 8}, {1, 3}, {7, 9}, {1, 3}})), 3000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{1, 9}}));
    // Partial segments: byte-exact ranges.
    board.update(base, snd_nxt, std::vector<SackBlock>{{at(base, 9) + 100, at(base, 9) + 200}});
    EXPECT_EQ(board.sacked_bytes(), 8100U);
  }
}

TEST(SackScoreboard, BlocksBelowSndUnaAreIgnoredAndCumulativeAckTrims) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    std::uint64_t invalid = counter_value("tcp.sack_block_invalid");
    board.update(base, snd_nxt, expected_segments(base, {{2, 3}, {4, 6}, {8, 9}}));
    // The ACK moves SND.UNA to 5 and carries a D-SACK for segment 1 and an old
    // block straddling SND.UNA.
    SequenceNumber snd_una = at(base, 5);
    EXPECT_EQ(board.update(snd_una, snd_nxt, expected_segments(base, {{1, 2}, {3, 7}})), 1000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{5, 7}, {8, 9}}));
    EXPECT_EQ(counter_value("tcp.sack_block_invalid"), invalid); // neither is invalid
    // A cumulative ACK beyond a range drops it, one inside a range cuts it.
    board.update(at(base, 8) + 500, snd_nxt, {});
    EXPECT_EQ(ranges_of(board), (std::vector<SackBlock>{{at(base, 8) + 500, at(base, 9)}}));
    board.update(at(base, 9), snd_nxt, {});
    EXPECT_TRUE(board.empty());
  }
}

TEST(SackScoreboard, InvalidBlocksAreCounted) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    std::uint64_t invalid = counter_value("tcp.sack_block_invalid");
    std::vector<SackBlock> blocks{
        segments(base, 9, 11),                    // beyond SND.NXT
        {at(base, 4), at(base, 3)},               // reversed
        {at(base, 4), at(base, 4)},               // empty
        {at(base, 2), at(base, 2) + 0x8000'0000}, // not a window at all
        segments(base, 1, 2),                     // the only good one
    };
    EXPECT_EQ(board.update(base, snd_nxt, blocks), 1000U);
    EXPECT_EQ(ranges_of(board), expected_segments(base, {{1, 2}}));
    EXPECT_EQ(counter_value("tcp.sack_block_invalid"), invalid + 4);
  }
}

TEST(SackScoreboard, FullScoreboardForgetsTheLowestRange) {
  SequenceNumber base{0xFFFF'0000}; // the ranges wrap past 2^32
  SequenceNumber snd_nxt = at(base, 100);
  SackScoreboard board{smss};
  std::uint64_t forgotten = counter_value("tcp.sack_range_forgotten");
  // 33 separate ranges: segments 2, 4, ..., 66.
  for (std::uint32_t i = 1; i <= 33; ++i) board.update(base, snd_nxt, std::vector{segments(base, 2 * i, 2 * i + 1)});
  ASSERT_EQ(board.ranges().size(), SackScoreboard::max_ranges);
  EXPECT_EQ(board.ranges().front(), segments(base, 4, 5));
  EXPECT_EQ(board.ranges().back(), segments(base, 66, 67));
  EXPECT_EQ(counter_value("tcp.sack_range_forgotten"), forgotten + 1);
  // A new range below all others is itself the lowest: forgotten at once.
  EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 1, 2)}), 0U);
  EXPECT_EQ(board.ranges().front(), segments(base, 4, 5));
  EXPECT_EQ(counter_value("tcp.sack_range_forgotten"), forgotten + 2);
  // A block that joins existing ranges needs no room.
  EXPECT_EQ(board.update(base, snd_nxt, std::vector{segments(base, 5, 6)}), 1000U);
  EXPECT_EQ(board.ranges().size(), SackScoreboard::max_ranges - 1);
  EXPECT_EQ(board.ranges().front(), segments(base, 4, 7));
  EXPECT_EQ(counter_value("tcp.sack_range_forgotten"), forgotten + 2);
  // A new range in the middle of a full board pushes out the lowest.
  board.update(base, snd_nxt, std::vector{segments(base, 80, 81)});
  board.update(base, snd_nxt, std::vector{segments(base, 70, 71)});
  EXPECT_EQ(board.ranges().size(), SackScoreboard::max_ranges);
  EXPECT_EQ(board.ranges().front(), segments(base, 8, 9));
  EXPECT_EQ(board.ranges()[29], segments(base, 66, 67));
  EXPECT_EQ(board.ranges()[30], segments(base, 70, 71));
  EXPECT_EQ(board.ranges()[31], segments(base, 80, 81));
}

TEST(SackScoreboard, IsLostCountsDiscontiguousRangesOrBytes) {
  SequenceNumber base{0xFFFF'FFF0};
  SequenceNumber snd_nxt = base + 20'000;
  SackScoreboard board{smss};
  // Two ranges of 100 bytes: not lost. A third range: lost, though only 300 bytes.
  board.update(base, snd_nxt, std::vector<SackBlock>{{base + 1000, base + 1100}, {base + 2000, base + 2100}});
  EXPECT_FALSE(board.is_lost(base));
  board.update(base, snd_nxt, std::vector<SackBlock>{{base + 3000, base + 3100}});
  EXPECT_TRUE(board.is_lost(base));
  EXPECT_TRUE(board.is_lost(base + 999));
  EXPECT_FALSE(board.is_lost(base + 1100)); // two ranges above

  SackScoreboard bytes{smss};
  // Two ranges, exactly 2 * SMSS: not lost; one byte more: lost.
  bytes.update(base, snd_nxt, std::vector<SackBlock>{{base + 1000, base + 2000}, {base + 5000, base + 6000}});
  EXPECT_FALSE(bytes.is_lost(base));
  bytes.update(base, snd_nxt, std::vector<SackBlock>{{base + 6000, base + 6001}});
  EXPECT_TRUE(bytes.is_lost(base));
  // Only SACKed bytes above seq count: 1000 + 1001 above base + 999, but
  // 999 + 1001 above base + 1000, the first byte of the lower range.
  EXPECT_TRUE(bytes.is_lost(base + 999));
  EXPECT_FALSE(bytes.is_lost(base + 1000));
}

TEST(SackScoreboard, ClearForgetsEverything) {
  SequenceNumber base{1};
  SackScoreboard board{smss};
  board.update(base, at(base, 10), expected_segments(base, {{1, 4}, {6, 7}}));
  board.clear();
  EXPECT_TRUE(board.empty());
  EXPECT_FALSE(board.is_lost(base));
  EXPECT_EQ(board.pipe(base, at(base, 10), base - 1), 10'000U);
}

// RFC 6675 §5 driven end to end with NewReno in SACK mode: ten segments in
// flight with cwnd 10000, segments 0 and 5 lost.
TEST(SackScoreboard, LossRecoveryWalkthrough) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    NewReno cc{{.smss = smss, .iss = base - 1, .loss_recovery = LossRecovery::sack}};
    SackScoreboard board{smss};
    SequenceNumber snd_una = base;
    SequenceNumber snd_nxt = at(base, 10);
    SequenceNumber high_rxt = snd_una - 1;
    auto dup_ack = [&](std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> spans) {
      board.update(snd_una, snd_nxt, expected_segments(base, spans));
      return cc.on_duplicate_ack(snd_una, snd_nxt, board.is_lost(snd_una));
    };

    // Segments 1, 2, 3 arrive: three duplicate ACKs start recovery.
    EXPECT_EQ(dup_ack({{1, 2}}), CongestionAction::none);
    EXPECT_EQ(dup_ack({{1, 3}}), CongestionAction::none);
    ASSERT_EQ(dup_ack({{1, 4}}), CongestionAction::retransmit_first_unacked);
    EXPECT_EQ(cc.cwnd(), 5000U); // ssthresh = cwnd = FlightSize / 2
    EXPECT_EQ(cc.recover(), snd_nxt - 1);
    high_rxt = at(base, 1) - 1; // segment 0 retransmitted (step 4.3)
    // Hole 0 lost, 4-9 in flight, plus the retransmission: 7000 >= cwnd.
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 7000U);

    // Segment 4 arrives: pipe 6000, still nothing to send.
    EXPECT_EQ(dup_ack({{1, 5}}), CongestionAction::none);
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 6000U);
    // Segments 6 and 7 arrive beyond the lost 5; hole 5 has 2000 bytes above: not lost yet.
    EXPECT_EQ(dup_ack({{6, 7}, {1, 5}}), CongestionAction::none);
    EXPECT_EQ(dup_ack({{6, 8}, {1, 5}}), CongestionAction::none);
    // pipe = retransmitted 0 (1000) + hole 5 (1000) + 8, 9 (2000) = 4000: room for one.
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 4000U);
    NextSegment next = board.next_seg(snd_una, high_rxt, true);
    EXPECT_EQ(next.kind, NextSegment::Kind::new_data);
    snd_nxt = at(base, 11);
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 5000U);

    // Segment 8 arrives: 3000 bytes above hole 5 make it lost; pipe 1000 + 0 + 2000.
    EXPECT_EQ(dup_ack({{6, 9}, {1, 5}}), CongestionAction::none);
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 3000U);
    next = board.next_seg(snd_una, high_rxt, true);
    ASSERT_EQ(next.kind, NextSegment::Kind::retransmit);
    EXPECT_EQ(next.seq, at(base, 5));
    high_rxt = next.seq + next.length - 1;
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 4000U);

    // The retransmitted 0 arrives: a partial ACK up to 5.
    snd_una = at(base, 5);
    board.update(snd_una, snd_nxt, expected_segments(base, {{6, 9}}));
    EXPECT_EQ(cc.on_ack(snd_una, snd_nxt, 5000), CongestionAction::none);
    EXPECT_TRUE(cc.in_recovery());
    EXPECT_EQ(board.pipe(snd_una, snd_nxt, high_rxt), 3000U); // 5 again, 9 and 10

    // The retransmitted 5 arrives: ACK up to 9, still below recover.
    snd_una = at(base, 9);
    board.update(snd_una, snd_nxt, {});
    EXPECT_TRUE(board.empty());
    EXPECT_EQ(cc.on_ack(snd_una, snd_nxt, 4000), CongestionAction::none);
    EXPECT_TRUE(cc.in_recovery());
    // Segments 9 and 10 arrive: the ACK passes recover and ends recovery.
    EXPECT_EQ(cc.on_ack(snd_nxt, snd_nxt, 2000), CongestionAction::none);
    EXPECT_FALSE(cc.in_recovery());
    EXPECT_EQ(cc.cwnd(), 5000U);
  }
}

} // namespace
} // namespace morgana::net

namespace morgana::net {
namespace {

// RFC 2883 §4: the first block is a D-SACK when it lies at or below the
// cumulative ACK, or inside the second block; otherwise the blocks are plain.
TEST(DsackBlock, FirstBlockBelowTheAckOrInsideTheSecond) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber ack = at(base, 4);
    EXPECT_EQ(dsack_block(ack, {}), std::nullopt);
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 1, 2)}), segments(base, 1, 2));
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 3, 4), segments(base, 6, 7)}), segments(base, 3, 4));
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 6, 7), segments(base, 5, 8)}), segments(base, 6, 7));
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 5, 8), segments(base, 6, 7)}), std::nullopt);
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 6, 7)}), std::nullopt);
    EXPECT_EQ(dsack_block(ack, std::vector{segments(base, 3, 5)}), std::nullopt); // straddles the ACK
  }
}

// With RACK deciding (RFC 8985), holes below the lost end are lost however
// little is SACKed above them; those above it are not, and NextSeg does not
// retransmit them by rule 3 either.
TEST(SackScoreboard, RackLostEndDecidesWhatIsLost) {
  for (std::uint32_t b : bases) {
    SCOPED_TRACE(b);
    SequenceNumber base{b};
    SequenceNumber snd_nxt = at(base, 10);
    SackScoreboard board{smss};
    // Segments 0 and 2 missing, 1 and 3-5 SACKed: DupThresh finds 0 and 2 lost.
    board.update(base, snd_nxt, std::vector{segments(base, 3, 6), segments(base, 1, 2)});
    EXPECT_TRUE(board.is_lost(base));
    EXPECT_TRUE(board.is_lost(at(base, 2)));
    // RACK marked only segment 0 lost (2 may be reordered).
    board.set_rack_lost_end(at(base, 1));
    EXPECT_TRUE(board.is_lost(base));
    EXPECT_FALSE(board.is_lost(at(base, 1))); // SACKed
    EXPECT_FALSE(board.is_lost(at(base, 2)));
    auto next = board.next_seg(base, base - 1, false);
    EXPECT_EQ(next.kind, NextSegment::Kind::retransmit);
    EXPECT_EQ(next.seq, base);
    EXPECT_EQ(next.length, smss);
    // After segment 0 went again: no rule 3 for segment 2.
    EXPECT_EQ(board.next_seg(base, at(base, 1) - 1, false).kind, NextSegment::Kind::none);
    EXPECT_EQ(board.next_seg(base, at(base, 1) - 1, true).kind, NextSegment::Kind::new_data);
    // pipe: 10 in flight - 4 SACKed - 1 lost (0) + 1 retransmitted (0).
    EXPECT_EQ(board.pipe(base, snd_nxt, at(base, 1) - 1), 6000U);
    // RACK now marks up to segment 3: segment 2 is lost, and half a segment of a hole is half lost.
    board.set_rack_lost_end(at(base, 3));
    EXPECT_TRUE(board.is_lost(at(base, 2)));
    EXPECT_EQ(board.pipe(base, snd_nxt, base - 1), 4000U);
    board.set_rack_lost_end(at(base, 2) + 500);
    EXPECT_EQ(board.pipe(base, snd_nxt, base - 1), 4500U);
    next = board.next_seg(base, at(base, 1) - 1, false);
    EXPECT_EQ(next.seq, at(base, 2));
    EXPECT_EQ(next.length, 500U);
    // Back to DupThresh.
    board.set_rack_lost_end(std::nullopt);
    EXPECT_TRUE(board.is_lost(at(base, 2)));
  }
}

} // namespace
} // namespace morgana::net
