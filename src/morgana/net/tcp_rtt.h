#pragma once

#include <cstdint>

#include "morgana/core/time.h"

namespace morgana::net {

// Round-trip time estimation and the retransmission timeout (RFC 6298).
// Pure state driven by method calls: no clock reads, no timers of its own.
//
// What the caller must do:
// - Karn's algorithm (RFC 6298 §3): pass a sample to on_rtt_sample() only when
//   it cannot be ambiguous: the ACK covers a segment that was never
//   retransmitted, or the sample comes from an echoed timestamp (RFC 7323 §4).
//   Take at most one sample per round trip unless it comes from timestamps.
// - On each retransmission timeout, retransmit and call backoff() (§5.5); the
//   backed-off RTO stays until the next valid sample, which recomputes it from
//   SRTT and RTTVAR (the note after §5.7).
// - If the SYN or SYN-ACK was retransmitted, call on_handshake_retransmitted()
//   when the connection is established (§5.7).
// - Drive a RetransmissionTimer (below) with rto().
class RttEstimator {
public:
  struct Config {
    Duration granularity = std::chrono::milliseconds(1); // G, the clock granularity (§2.4)
    // §2.4 asks for a 1 s floor; Linux uses 200 ms, and so do we by default.
    Duration min_rto = std::chrono::milliseconds(200);
    Duration max_rto = std::chrono::seconds(120);   // §2.5: at least 60 s
    Duration initial_rto = std::chrono::seconds(1); // §2.1
  };

  RttEstimator() : RttEstimator(Config{}) {}
  explicit RttEstimator(Config config);

  // A measured round trip R (§2.2 for the first sample, §2.3 afterwards).
  // Also ends any backoff: the RTO is recomputed from the new estimate.
  void on_rtt_sample(Duration rtt);
  // Doubles the RTO, up to max_rto (§5.5).
  void backoff();
  // §5.7: after a retransmitted SYN, data transfer starts with an RTO of at
  // least 3 s (and no backoff) unless a valid sample has already set the RTO.
  void on_handshake_retransmitted();

  [[nodiscard]] Duration srtt() const { return m_srtt; }
  [[nodiscard]] Duration rttvar() const { return m_rttvar; }
  [[nodiscard]] Duration rto() const { return m_rto; }
  [[nodiscard]] bool has_sample() const { return m_has_sample; }
  // Consecutive backoffs since the last sample (for RFC 9293 §3.8.3's R1/R2).
  [[nodiscard]] std::uint32_t backoffs() const { return m_backoffs; }

private:
  [[nodiscard]] Duration clamp(Duration rto) const;

  Config m_config;
  Duration m_srtt{};
  Duration m_rttvar{};
  Duration m_rto;
  bool m_has_sample = false;
  std::uint32_t m_backoffs = 0;
};

// The retransmission timer's rules (RFC 6298 §5.1-§5.3) as a deadline the
// connection's coroutine waits on; it fires when expired(now) holds.
class RetransmissionTimer {
public:
  // §5.1: a segment with data (or SYN/FIN) was sent; starts the timer unless it runs.
  void on_data_sent(Instant now, Duration rto);
  // §5.2, §5.3: an ACK acknowledged new data; stops the timer when nothing is
  // outstanding, otherwise restarts it.
  void on_new_data_acked(Instant now, Duration rto, bool data_outstanding);
  // §5.6: after a timeout and backoff, restarts with the backed-off RTO.
  void restart(Instant now, Duration rto) { m_deadline = now + rto; }
  void stop() { m_deadline = far_future; }

  [[nodiscard]] bool running() const { return m_deadline != far_future; }
  [[nodiscard]] bool expired(Instant now) const { return running() && now >= m_deadline; }
  // far_future when stopped.
  [[nodiscard]] Instant deadline() const { return m_deadline; }

private:
  Instant m_deadline = far_future;
};

} // namespace morgana::net
