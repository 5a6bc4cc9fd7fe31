#include "morgana/net/tcp_rtt.h"

#include <gtest/gtest.h>

namespace morgana::net {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(RttEstimator, StartsWithTheInitialRto) {
  RttEstimator estimator;
  EXPECT_FALSE(estimator.has_sample());
  EXPECT_EQ(estimator.rto(), seconds(1)); // RFC 6298 §2.1
  EXPECT_EQ(estimator.srtt(), Duration::zero());
  EXPECT_EQ(estimator.rttvar(), Duration::zero());
}

TEST(RttEstimator, FirstAndLaterSamplesFollowTheRfcFormulas) {
  RttEstimator estimator;
  // §2.2: SRTT = 100, RTTVAR = 100/2 = 50, RTO = 100 + max(G, 4 * 50) = 300 ms.
  estimator.on_rtt_sample(milliseconds(100));
  EXPECT_TRUE(estimator.has_sample());
  EXPECT_EQ(estimator.srtt(), milliseconds(100));
  EXPECT_EQ(estimator.rttvar(), milliseconds(50));
  EXPECT_EQ(estimator.rto(), milliseconds(300));

  // §2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5; SRTT = 7/8 * 100 + 1/8 * 200 = 112.5;
  // RTO = 112.5 + 4 * 62.5 = 362.5 ms.
  estimator.on_rtt_sample(milliseconds(200));
  EXPECT_EQ(estimator.rttvar(), microseconds(62'500));
  EXPECT_EQ(estimator.srtt(), microseconds(112'500));
  EXPECT_EQ(estimator.rto(), microseconds(362'500));

  // RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 100| = 50; SRTT = 7/8 * 112.5 + 1/8 * 100 = 110.9375;
  // RTO = 110.9375 + 200 = 310.9375 ms.
  estimator.on_rtt_sample(milliseconds(100));
  EXPECT_EQ(estimator.rttvar(), milliseconds(50));
  EXPECT_EQ(estimator.srtt(), nanoseconds(110'937'500));
  EXPECT_EQ(estimator.rto(), nanoseconds(310'937'500));
}

TEST(RttEstimator, RtoIsClampedToTheConfiguredMinimum) {
  // 10 ms: SRTT 10, RTTVAR 5, computed RTO 30 ms.
  RttEstimator linux_like;
  linux_like.on_rtt_sample(milliseconds(10));
  EXPECT_EQ(linux_like.rto(), milliseconds(200));

  RttEstimator rfc_floor{{.min_rto = seconds(1)}};
  rfc_floor.on_rtt_sample(milliseconds(10));
  EXPECT_EQ(rfc_floor.rto(), seconds(1));

  RttEstimator no_floor{{.min_rto = Duration::zero()}};
  no_floor.on_rtt_sample(milliseconds(10));
  EXPECT_EQ(no_floor.rto(), milliseconds(30));
}

TEST(RttEstimator, ClockGranularityBoundsTheVarianceTerm) {
  RttEstimator estimator{{.granularity = milliseconds(1), .min_rto = Duration::zero()}};
  // Constant samples shrink RTTVAR by 3/4 each time (5 ms * (3/4)^79 truncates to 0 ns),
  // so RTO = SRTT + max(G, 4 * RTTVAR) = 10 + 1 ms.
  for (int i = 0; i < 80; ++i) estimator.on_rtt_sample(milliseconds(10));
  EXPECT_EQ(estimator.srtt(), milliseconds(10));
  EXPECT_EQ(estimator.rttvar(), Duration::zero());
  EXPECT_EQ(estimator.rto(), milliseconds(11));
}

TEST(RttEstimator, RtoIsClampedToTheConfiguredMaximum) {
  // 100 s: SRTT 100, RTTVAR 50, computed RTO 300 s.
  RttEstimator estimator;
  estimator.on_rtt_sample(seconds(100));
  EXPECT_EQ(estimator.rto(), seconds(120));

  RttEstimator sixty{{.max_rto = seconds(60)}};
  sixty.on_rtt_sample(seconds(100));
  EXPECT_EQ(sixty.rto(), seconds(60));
}

TEST(RttEstimator, BackoffDoublesUpToTheMaximum) {
  RttEstimator estimator;
  estimator.on_rtt_sample(milliseconds(100)); // RTO 300 ms
  Duration expected = milliseconds(300);
  // 300 ms * 2^8 = 76.8 s; the ninth doubling (153.6 s) stops at 120 s.
  for (std::uint32_t i = 1; i <= 8; ++i) {
    estimator.backoff();
    expected *= 2;
    EXPECT_EQ(estimator.rto(), expected);
    EXPECT_EQ(estimator.backoffs(), i);
  }
  EXPECT_EQ(estimator.rto(), milliseconds(76'800));
  estimator.backoff();
  EXPECT_EQ(estimator.rto(), seconds(120));
  estimator.backoff();
  EXPECT_EQ(estimator.rto(), seconds(120));
  EXPECT_EQ(estimator.backoffs(), 10U);
  // The estimate itself is untouched by backoff.
  EXPECT_EQ(estimator.srtt(), milliseconds(100));
}

TEST(RttEstimator, NewSampleCollapsesTheBackedOffRto) {
  RttEstimator estimator;
  estimator.on_rtt_sample(milliseconds(100));
  estimator.backoff();
  estimator.backoff();
  EXPECT_EQ(estimator.rto(), milliseconds(1200));
  // Same numbers as the second sample above: RTO 362.5 ms.
  estimator.on_rtt_sample(milliseconds(200));
  EXPECT_EQ(estimator.rto(), microseconds(362'500));
  EXPECT_EQ(estimator.backoffs(), 0U);
}

TEST(RttEstimator, BackoffBeforeAnySampleStartsFromTheInitialRto) {
  RttEstimator estimator;
  estimator.backoff(); // a lost SYN: 1 s -> 2 s
  EXPECT_EQ(estimator.rto(), seconds(2));
  estimator.on_handshake_retransmitted(); // §5.7: 3 s once data flows
  EXPECT_EQ(estimator.rto(), seconds(3));
  EXPECT_EQ(estimator.backoffs(), 0U);
}

TEST(RttEstimator, HandshakeRuleKeepsAMeasuredRto) {
  RttEstimator estimator;
  estimator.on_rtt_sample(milliseconds(100)); // from a timestamp echo
  estimator.on_handshake_retransmitted();
  EXPECT_EQ(estimator.rto(), milliseconds(300));
}

TEST(RttEstimator, ZeroAndNegativeSamplesCountAsZero) {
  RttEstimator estimator{{.min_rto = Duration::zero()}};
  estimator.on_rtt_sample(milliseconds(-5));
  EXPECT_EQ(estimator.srtt(), Duration::zero());
  EXPECT_EQ(estimator.rto(), milliseconds(1)); // 0 + G
}

constexpr Instant start{seconds(50)};

TEST(RetransmissionTimer, StartsOnFirstSendOnly) {
  RetransmissionTimer timer;
  EXPECT_FALSE(timer.running());
  EXPECT_EQ(timer.deadline(), far_future);
  EXPECT_FALSE(timer.expired(start + seconds(1000)));

  timer.on_data_sent(start, milliseconds(300)); // §5.1
  EXPECT_TRUE(timer.running());
  EXPECT_EQ(timer.deadline(), start + milliseconds(300));
  timer.on_data_sent(start + milliseconds(100), milliseconds(300)); // already running: unchanged
  EXPECT_EQ(timer.deadline(), start + milliseconds(300));
  EXPECT_FALSE(timer.expired(start + milliseconds(299)));
  EXPECT_TRUE(timer.expired(start + milliseconds(300)));
}

TEST(RetransmissionTimer, AckRestartsOrStops) {
  RetransmissionTimer timer;
  timer.on_data_sent(start, milliseconds(300));
  timer.on_new_data_acked(start + milliseconds(200), milliseconds(300), true); // §5.3
  EXPECT_EQ(timer.deadline(), start + milliseconds(500));
  timer.on_new_data_acked(start + milliseconds(250), milliseconds(300), false); // §5.2
  EXPECT_FALSE(timer.running());
  EXPECT_FALSE(timer.expired(start + seconds(10)));
}

TEST(RetransmissionTimer, RestartAfterTimeoutUsesTheBackedOffRto) {
  RttEstimator estimator;
  RetransmissionTimer timer;
  timer.on_data_sent(start, estimator.rto());
  ASSERT_TRUE(timer.expired(start + seconds(1)));
  estimator.backoff();                                // §5.5
  timer.restart(start + seconds(1), estimator.rto()); // §5.6
  EXPECT_EQ(timer.deadline(), start + seconds(3));
  timer.stop();
  EXPECT_FALSE(timer.running());
}

} // namespace
} // namespace morgana::net
