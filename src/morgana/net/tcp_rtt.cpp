#include "morgana/net/tcp_rtt.h"

#include <algorithm>

namespace morgana::net {

namespace {

constexpr int k = 4; // K (RFC 6298 §2)
constexpr Duration handshake_retransmitted_rto = std::chrono::seconds(3);

Duration absolute(Duration d) { return d < Duration::zero() ? -d : d; }

} // namespace

RttEstimator::RttEstimator(Config config) : m_config(config), m_rto(clamp(config.initial_rto)) {}

Duration RttEstimator::clamp(Duration rto) const { return std::clamp(rto, m_config.min_rto, m_config.max_rto); }

void RttEstimator::on_rtt_sample(Duration rtt) {
  rtt = std::max(rtt, Duration::zero());
  if (!m_has_sample) {
    // §2.2
    m_srtt = rtt;
    m_rttvar = rtt / 2;
    m_has_sample = true;
  } else {
    // §2.3, alpha = 1/8, beta = 1/4; RTTVAR first, from the old SRTT.
    m_rttvar = (3 * m_rttvar + absolute(m_srtt - rtt)) / 4;
    m_srtt = (7 * m_srtt + rtt) / 8;
  }
  m_rto = clamp(m_srtt + std::max(m_config.granularity, k * m_rttvar));
  m_backoffs = 0;
}

void RttEstimator::backoff() {
  // §5.5; compare before doubling so that a huge max_rto cannot overflow.
  m_rto = m_rto >= m_config.max_rto / 2 ? m_config.max_rto : 2 * m_rto;
  ++m_backoffs;
}

void RttEstimator::on_handshake_retransmitted() {
  if (m_has_sample) return;
  m_rto = clamp(std::max(m_config.initial_rto, handshake_retransmitted_rto));
  m_backoffs = 0;
}

void RetransmissionTimer::on_data_sent(Instant now, Duration rto) {
  if (!running()) m_deadline = now + rto;
}

void RetransmissionTimer::on_new_data_acked(Instant now, Duration rto, bool data_outstanding) {
  if (data_outstanding) {
    m_deadline = now + rto;
  } else {
    stop();
  }
}

} // namespace morgana::net
