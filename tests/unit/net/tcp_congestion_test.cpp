#include "morgana/net/tcp_congestion.h"

#include <gtest/gtest.h>

namespace morgana::net {
namespace {

using std::chrono::milliseconds;

constexpr std::uint32_t smss = 1000;
constexpr SequenceNumber iss{1000};
constexpr SequenceNumber first = iss + 1; // SND.UNA once the SYN is acknowledged

NewReno make(LossRecovery recovery = LossRecovery::newreno, SequenceNumber initial = iss) {
  return NewReno{{.smss = smss, .iss = initial, .loss_recovery = recovery}};
}

// Sends ten segments [first, first + 10000) and takes three duplicate ACKs:
// FlightSize 10000, so ssthresh = max(10000 / 2, 2 * 1000) = 5000.
void enter_recovery(NewReno& cc, SequenceNumber snd_una = first) {
  SequenceNumber snd_nxt = snd_una + 10'000;
  EXPECT_EQ(cc.on_duplicate_ack(snd_una, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.on_duplicate_ack(snd_una, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.on_duplicate_ack(snd_una, snd_nxt), CongestionAction::retransmit_first_unacked);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), 5000U);
  EXPECT_EQ(cc.recover(), snd_nxt - 1);
}

TEST(NewReno, InitialWindowRules) {
  auto window = [](std::uint32_t mss, InitialWindow rule) {
    return NewReno{{.smss = mss, .initial_window = rule}}.cwnd();
  };
  // RFC 6928: min(10*MSS, max(2*MSS, 14600)).
  EXPECT_EQ(window(1460, InitialWindow::rfc6928), 14600U);
  EXPECT_EQ(window(536, InitialWindow::rfc6928), 5360U);
  EXPECT_EQ(window(9000, InitialWindow::rfc6928), 18000U);
  // RFC 5681 §3.1: 4, 3 or 2 segments by SMSS.
  EXPECT_EQ(window(536, InitialWindow::rfc5681), 2144U);
  EXPECT_EQ(window(1095, InitialWindow::rfc5681), 4380U);
  EXPECT_EQ(window(1460, InitialWindow::rfc5681), 4380U);
  EXPECT_EQ(window(2190, InitialWindow::rfc5681), 6570U);
  EXPECT_EQ(window(9000, InitialWindow::rfc5681), 18000U);

  NewReno cc = make();
  EXPECT_EQ(cc.cwnd(), 10'000U);
  EXPECT_EQ(cc.initial_window(), 10'000U);
  EXPECT_TRUE(cc.in_slow_start());
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.allowed_in_flight(), 10'000U);
}

TEST(NewReno, SlowStartCountsBytesUpToTwoSegmentsPerAck) {
  NewReno cc = make();
  SequenceNumber snd_una = first;
  SequenceNumber snd_nxt = first + 10'000;
  auto ack = [&](std::uint32_t bytes) {
    snd_una += bytes;
    EXPECT_EQ(cc.on_ack(snd_una, snd_nxt, bytes), CongestionAction::none);
  };
  ack(1000); // +1000
  EXPECT_EQ(cc.cwnd(), 11'000U);
  ack(2000); // a delayed ACK: +2000
  EXPECT_EQ(cc.cwnd(), 13'000U);
  ack(5000); // a stretch ACK: +min(5000, L = 2000)
  EXPECT_EQ(cc.cwnd(), 15'000U);
  ack(500); // +500
  EXPECT_EQ(cc.cwnd(), 15'500U);
}

TEST(NewReno, SlowStartDoublesPerRoundTrip) {
  NewReno cc = make();
  SequenceNumber snd_una = first;
  SequenceNumber snd_nxt = first + 10'000;
  for (int i = 0; i < 10; ++i) {
    snd_una += smss;
    (void)cc.on_ack(snd_una, snd_nxt, smss);
  }
  EXPECT_EQ(cc.cwnd(), 20'000U);
}

TEST(NewReno, TimeoutCollapsesToTheLossWindow) {
  NewReno cc = make();
  // FlightSize 20000: ssthresh = 10000, cwnd = 1 SMSS.
  cc.on_retransmit_timeout(first, first + 20'000);
  EXPECT_EQ(cc.ssthresh(), 10'000U);
  EXPECT_EQ(cc.cwnd(), 1000U);
  EXPECT_EQ(cc.recover(), first + 19'999);
  // A second timeout for the same data keeps ssthresh, even though the
  // caller's FlightSize is now smaller (RFC 5681 §3.1).
  cc.on_retransmit_timeout(first, first + 4000);
  EXPECT_EQ(cc.ssthresh(), 10'000U);
  EXPECT_EQ(cc.cwnd(), 1000U);
  // After an ACK of new data, the next timeout computes it again: max(3000 / 2, 2 * SMSS).
  (void)cc.on_ack(first + 1000, first + 4000, 1000);
  cc.on_retransmit_timeout(first + 1000, first + 4000);
  EXPECT_EQ(cc.ssthresh(), 2000U);
  EXPECT_EQ(cc.cwnd(), 1000U);
}

TEST(NewReno, SlowStartAfterTimeoutThenCongestionAvoidance) {
  NewReno cc = make();
  cc.on_retransmit_timeout(first, first + 20'000); // ssthresh 10000, cwnd 1000
  SequenceNumber snd_una = first;
  SequenceNumber snd_nxt = first + 20'000;
  auto ack = [&](std::uint32_t bytes) {
    snd_una += bytes;
    EXPECT_EQ(cc.on_ack(snd_una, snd_nxt, bytes), CongestionAction::none);
  };
  // After a timeout L = 1 SMSS (RFC 3465 §2.3): a 2000-byte ACK adds 1000.
  ack(2000);
  EXPECT_EQ(cc.cwnd(), 2000U);
  for (int i = 0; i < 8; ++i) ack(1000);
  EXPECT_EQ(cc.cwnd(), 10'000U);
  EXPECT_FALSE(cc.in_slow_start());

  // Congestion avoidance: +1 SMSS per cwnd of bytes acknowledged.
  for (int i = 0; i < 9; ++i) ack(1000);
  EXPECT_EQ(cc.cwnd(), 10'000U); // 9000 counted
  ack(1000);                     // 10000 >= cwnd: +1000, counter back to 0
  EXPECT_EQ(cc.cwnd(), 11'000U);
  ack(5000); // stretch ACKs count in full here
  ack(5000);
  EXPECT_EQ(cc.cwnd(), 11'000U); // 10000 < 11000
  ack(2000);                     // 12000 >= 11000: +1000, 1000 left over
  EXPECT_EQ(cc.cwnd(), 12'000U);
  ack(11'000); // 12000 >= 12000
  EXPECT_EQ(cc.cwnd(), 13'000U);
}

TEST(NewReno, LimitedTransmitOnFirstTwoDuplicates) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 10'000;
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.allowed_in_flight(), 11'000U);
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.allowed_in_flight(), 12'000U);
  EXPECT_EQ(cc.cwnd(), 10'000U); // RFC 3042: cwnd itself unchanged
  EXPECT_EQ(cc.duplicate_acks(), 2U);
}

TEST(NewReno, NewAckResetsTheDuplicateCount) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 10'000;
  (void)cc.on_duplicate_ack(first, snd_nxt);
  (void)cc.on_duplicate_ack(first, snd_nxt);
  (void)cc.on_ack(first + 1000, snd_nxt, 1000);
  EXPECT_EQ(cc.duplicate_acks(), 0U);
  EXPECT_EQ(cc.on_duplicate_ack(first + 1000, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.on_duplicate_ack(first + 1000, snd_nxt), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
}

TEST(NewReno, FastRetransmitOnThirdDuplicateAndInflation) {
  NewReno cc = make();
  enter_recovery(cc);
  // cwnd = ssthresh + 3 * SMSS; limited transmit no longer applies.
  EXPECT_EQ(cc.cwnd(), 8000U);
  EXPECT_EQ(cc.allowed_in_flight(), 8000U);
  // Each further duplicate inflates by one SMSS and retransmits nothing.
  EXPECT_EQ(cc.on_duplicate_ack(first, first + 10'000), CongestionAction::none);
  EXPECT_EQ(cc.on_duplicate_ack(first, first + 10'000), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 10'000U);
}

TEST(NewReno, PartialAckDeflatesAndRetransmitsThenFullAckExits) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 10'000;
  enter_recovery(cc); // cwnd 8000
  (void)cc.on_duplicate_ack(first, snd_nxt);
  (void)cc.on_duplicate_ack(first, snd_nxt); // cwnd 10000
  // Segments 0 and 3 were lost; the retransmission of 0 brings an ACK up to 3:
  // cwnd = 10000 - 3000 + 1000 = 8000, and segment 3 goes out again.
  EXPECT_EQ(cc.on_ack(first + 3000, snd_nxt, 3000), CongestionAction::retransmit_first_unacked);
  EXPECT_EQ(cc.cwnd(), 8000U);
  EXPECT_TRUE(cc.in_recovery());
  // A partial ACK of less than one SMSS deflates without adding back: 8000 - 500.
  EXPECT_EQ(cc.on_ack(first + 3500, snd_nxt, 500), CongestionAction::retransmit_first_unacked);
  EXPECT_EQ(cc.cwnd(), 7500U);
  // Duplicates still inflate during recovery (RFC 6582 §3.2 step 3).
  EXPECT_EQ(cc.on_duplicate_ack(first + 3500, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 8500U);
  // Two new segments were sent meanwhile; the ACK covering recover exits with
  // cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) = min(5000, 2000 + 1000).
  SequenceNumber later_nxt = snd_nxt + 2000;
  EXPECT_EQ(cc.on_ack(snd_nxt, later_nxt, 6500), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 3000U);
  EXPECT_EQ(cc.ssthresh(), 5000U);
  EXPECT_TRUE(cc.in_slow_start());
}

TEST(NewReno, FullAckWithNothingOutstandingLeavesTwoSegments) {
  NewReno cc = make();
  enter_recovery(cc);
  SequenceNumber snd_nxt = first + 10'000;
  // min(5000, max(0, 1000) + 1000)
  EXPECT_EQ(cc.on_ack(snd_nxt, snd_nxt, 10'000), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 2000U);
}

TEST(NewReno, FullAckWithMuchOutstandingStopsAtSsthresh) {
  NewReno cc = make();
  enter_recovery(cc);
  SequenceNumber snd_nxt = first + 10'000;
  EXPECT_EQ(cc.on_ack(snd_nxt, snd_nxt + 8000, 10'000), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 5000U);
}

TEST(NewReno, NoFastRetransmitForDataSentBeforeATimeout) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 10'000;
  cc.on_retransmit_timeout(first, snd_nxt); // recover = snd_nxt - 1
  // Duplicates for the old flight do not start recovery (RFC 6582 §3.2 step 2).
  for (int i = 0; i < 5; ++i) EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 1000U);
  EXPECT_EQ(cc.allowed_in_flight(), 1000U); // no limited transmit past the third
  // Once an ACK passes recover, three duplicates do.
  (void)cc.on_ack(snd_nxt, snd_nxt + 10'000, 10'000);
  enter_recovery(cc, snd_nxt);
}

TEST(NewReno, TimeoutEndsRecovery) {
  NewReno cc = make();
  enter_recovery(cc);
  cc.on_retransmit_timeout(first, first + 10'000);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 1000U);
  // Not "a second timeout": the first one after recovery computes ssthresh again.
  EXPECT_EQ(cc.ssthresh(), 5000U);
  EXPECT_EQ(cc.duplicate_acks(), 0U);
}

TEST(NewReno, SackRecoveryKeepsCwndAtSsthresh) {
  NewReno cc = make(LossRecovery::sack);
  SequenceNumber snd_nxt = first + 10'000;
  enter_recovery(cc);
  // RFC 6675 §5 step 4.2: cwnd = ssthresh, no inflation; the caller sends by pipe.
  EXPECT_EQ(cc.cwnd(), 5000U);
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 5000U);
  // Partial ACKs change nothing and ask for nothing (NextSeg decides).
  EXPECT_EQ(cc.on_ack(first + 3000, snd_nxt, 3000), CongestionAction::none);
  EXPECT_EQ(cc.cwnd(), 5000U);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.on_ack(snd_nxt, snd_nxt, 7000), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 5000U);
}

TEST(NewReno, SackLossDetectionStartsRecoveryEarly) {
  NewReno cc = make(LossRecovery::sack);
  SequenceNumber snd_nxt = first + 10'000;
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt, false), CongestionAction::none);
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt, true), CongestionAction::retransmit_first_unacked);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 5000U);

  // Without SACK the hint is ignored.
  NewReno plain = make();
  EXPECT_EQ(plain.on_duplicate_ack(first, snd_nxt, true), CongestionAction::none);
  EXPECT_FALSE(plain.in_recovery());
}

TEST(NewReno, SmallFlightSizeKeepsTwoSegmentsOfSsthresh) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 3000;
  (void)cc.on_duplicate_ack(first, snd_nxt);
  (void)cc.on_duplicate_ack(first, snd_nxt);
  EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt), CongestionAction::retransmit_first_unacked);
  EXPECT_EQ(cc.ssthresh(), 2000U); // max(1500, 2 * SMSS)
  EXPECT_EQ(cc.cwnd(), 5000U);
}

TEST(NewReno, RestartWindowAfterIdle) {
  NewReno cc = make();
  SequenceNumber snd_nxt = first + 10'000;
  for (int i = 1; i <= 10; ++i) (void)cc.on_ack(first + i * 1000, snd_nxt, 1000);
  ASSERT_EQ(cc.cwnd(), 20'000U);
  constexpr Instant t0{std::chrono::seconds(10)};
  cc.on_send(t0, milliseconds(300));
  cc.on_send(t0 + milliseconds(300), milliseconds(300)); // exactly one RTO: not idle
  EXPECT_EQ(cc.cwnd(), 20'000U);
  cc.on_send(t0 + milliseconds(601), milliseconds(300)); // more than one RTO
  EXPECT_EQ(cc.cwnd(), 10'000U);                         // RW = min(IW, cwnd)

  NewReno small = make();
  small.on_retransmit_timeout(first, snd_nxt); // cwnd 1000 < IW
  small.on_send(t0, milliseconds(300));
  small.on_send(t0 + std::chrono::seconds(5), milliseconds(300));
  EXPECT_EQ(small.cwnd(), 1000U);

  NewReno keep{{.smss = smss, .iss = iss, .restart_after_idle = false}};
  for (int i = 1; i <= 10; ++i) (void)keep.on_ack(first + i * 1000, snd_nxt, 1000);
  keep.on_send(t0, milliseconds(300));
  keep.on_send(t0 + std::chrono::seconds(5), milliseconds(300));
  EXPECT_EQ(keep.cwnd(), 20'000U);
}

TEST(NewReno, LostHandshakeStartsWithOneSegment) {
  NewReno cc = make();
  cc.on_handshake_retransmitted();
  EXPECT_EQ(cc.cwnd(), 1000U);
  EXPECT_EQ(cc.initial_window(), 10'000U);
}

TEST(NewReno, SequenceNumbersWrapAround) {
  constexpr SequenceNumber high_iss{0xFFFF'F000};
  NewReno cc = make(LossRecovery::newreno, high_iss);
  SequenceNumber snd_una = high_iss + 1;
  SequenceNumber snd_nxt = snd_una + 10'000; // wraps past 2^32
  ASSERT_LT(snd_nxt.value(), snd_una.value());
  enter_recovery(cc, snd_una);
  EXPECT_EQ(cc.cwnd(), 8000U);
  // A partial ACK just past the wrap point, then the full ACK.
  EXPECT_EQ(cc.on_ack(snd_una + 5000, snd_nxt, 5000), CongestionAction::retransmit_first_unacked);
  EXPECT_EQ(cc.cwnd(), 4000U); // 8000 - 5000 + 1000
  EXPECT_EQ(cc.on_ack(snd_nxt, snd_nxt, 5000), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 2000U);
}

// With RACK, duplicate ACKs feed limited transmit only; RACK's loss starts recovery.
TEST(NewReno, RackDecidesWhenRecoveryStarts) {
  auto cc = make(LossRecovery::sack);
  cc.set_rack(true);
  SequenceNumber snd_nxt = first + 10'000;
  for (int duplicate = 0; duplicate < 5; ++duplicate)
    EXPECT_EQ(cc.on_duplicate_ack(first, snd_nxt, true), CongestionAction::none);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.allowed_in_flight(), cc.cwnd());
  EXPECT_EQ(cc.on_loss_detected(first, snd_nxt), CongestionAction::retransmit_first_unacked);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), 5000U);
  EXPECT_EQ(cc.on_loss_detected(first, snd_nxt), CongestionAction::none); // already in recovery
}

// RFC 2883 §6 / RFC 3522: a spurious recovery or timeout is undone to the
// window before it, once; a timeout during recovery is the same episode.
TEST(NewReno, UndoRestoresTheWindowBeforeTheEpisode) {
  auto cc = make(LossRecovery::sack);
  EXPECT_FALSE(cc.undo_reduction(first));
  auto before_cwnd = cc.cwnd();
  auto before_ssthresh = cc.ssthresh();
  enter_recovery(cc);
  EXPECT_EQ(cc.reductions(), 1U);
  cc.on_retransmit_timeout(first, first + 10'000);
  EXPECT_EQ(cc.reductions(), 1U);
  EXPECT_EQ(cc.cwnd(), smss);
  EXPECT_TRUE(cc.undo_reduction(first));
  EXPECT_EQ(cc.cwnd(), before_cwnd);
  EXPECT_EQ(cc.ssthresh(), before_ssthresh);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_FALSE(cc.undo_reduction(first));
  // A new loss in the same window may start recovery again.
  EXPECT_EQ(cc.on_loss_detected(first, first + 10'000), CongestionAction::retransmit_first_unacked);
  EXPECT_EQ(cc.reductions(), 2U);
}

} // namespace
} // namespace morgana::net
