#include "morgana/net/tcp_congestion.h"

#include <algorithm>
#include <limits>

namespace morgana::net {

namespace {

// Keeps cwnd + anything added to it well inside 32 bits.
constexpr std::uint32_t max_cwnd = std::uint32_t{1} << 30;

std::uint32_t initial_window_for(InitialWindow rule, std::uint32_t smss) {
  if (rule == InitialWindow::rfc6928) {
    // RFC 6928 §2: min(10*MSS, max(2*MSS, 14600)).
    return std::min(10 * smss, std::max(2 * smss, std::uint32_t{14600}));
  }
  // RFC 5681 §3.1.
  if (smss > 2190) return 2 * smss;
  if (smss > 1095) return 3 * smss;
  return 4 * smss;
}

std::uint32_t grow(std::uint32_t cwnd, std::uint32_t increment) { return std::min(max_cwnd, cwnd + increment); }

} // namespace

NewReno::NewReno(Config config)
    : m_smss(std::clamp<std::uint32_t>(config.smss, 1, max_cwnd / 16)),
      m_largest_send(std::max(m_smss, config.largest_send)), m_loss_recovery(config.loss_recovery),
      m_restart_after_idle(config.restart_after_idle),
      m_initial_window(initial_window_for(config.initial_window, m_smss)), m_cwnd(m_initial_window),
      // RFC 5681 §3.1: initially arbitrarily high.
      m_ssthresh(std::numeric_limits<std::uint32_t>::max()), m_recover(config.iss) {}

std::uint32_t NewReno::reduced_ssthresh(SequenceNumber snd_una, SequenceNumber snd_nxt) const {
  // RFC 5681 §3.1 equation (4): max(FlightSize / 2, 2*SMSS).
  auto flight_size = static_cast<std::uint32_t>(std::max(snd_nxt - snd_una, 0));
  return std::max(flight_size / 2, 2 * m_smss);
}

CongestionAction NewReno::on_ack(SequenceNumber snd_una, SequenceNumber snd_nxt, std::uint32_t bytes_acked) {
  m_duplicate_acks = 0;
  m_timed_out = false;
  if (m_in_recovery) {
    if (snd_una > m_recover) {
      // A full acknowledgment (RFC 6582 §3.2 step 3; RFC 6675 §5 step A).
      exit_recovery(snd_una, snd_nxt);
      return CongestionAction::none;
    }
    if (m_loss_recovery == LossRecovery::sack) return CongestionAction::none;
    // A partial acknowledgment (RFC 6582 §3.2 step 3): deflate by the amount
    // acknowledged, add back one SMSS if at least one was acknowledged.
    m_cwnd -= std::min(m_cwnd, bytes_acked);
    if (bytes_acked >= m_smss) m_cwnd = grow(m_cwnd, m_smss);
    m_cwnd = std::max(m_cwnd, m_smss);
    return CongestionAction::retransmit_first_unacked;
  }
  increase(bytes_acked);
  return CongestionAction::none;
}

void NewReno::increase(std::uint32_t bytes_acked) {
  if (m_cwnd < m_ssthresh) {
    // Slow start (RFC 5681 §3.1 equation (2), with RFC 3465 §2.2's L = 2*SMSS,
    // two of our largest segments with TSO).
    std::uint32_t limit = m_slow_start_after_timeout ? m_smss : 2 * m_largest_send;
    m_cwnd = grow(m_cwnd, std::min(bytes_acked, limit));
    return;
  }
  m_slow_start_after_timeout = false;
  // Congestion avoidance by byte counting (RFC 5681 §3.1, RFC 3465 §2.1): one
  // SMSS per cwnd of data acknowledged.
  m_bytes_acked = std::min(max_cwnd, m_bytes_acked + bytes_acked);
  if (m_bytes_acked >= m_cwnd) {
    m_bytes_acked -= m_cwnd;
    m_cwnd = grow(m_cwnd, m_smss);
  }
}

CongestionAction NewReno::on_duplicate_ack(SequenceNumber snd_una, SequenceNumber snd_nxt, bool first_unacked_lost) {
  if (m_in_recovery) {
    // RFC 5681 §3.2 step 4: each further duplicate means a segment has left the network.
    if (m_loss_recovery == LossRecovery::newreno) m_cwnd = grow(m_cwnd, m_smss);
    return CongestionAction::none;
  }
  if (m_duplicate_acks < dup_thresh) ++m_duplicate_acks;
  if (m_rack) return CongestionAction::none;
  bool sack_says_lost = m_loss_recovery == LossRecovery::sack && first_unacked_lost;
  if (m_duplicate_acks < dup_thresh && !sack_says_lost) return CongestionAction::none;
  // RFC 6582 §3.2 step 2: duplicates of data sent before the last recovery or
  // timeout do not start another one.
  if (!(snd_una > m_recover)) return CongestionAction::none;
  enter_recovery(snd_una, snd_nxt);
  return CongestionAction::retransmit_first_unacked;
}

CongestionAction NewReno::on_loss_detected(SequenceNumber snd_una, SequenceNumber snd_nxt) {
  if (m_in_recovery || !(snd_una > m_recover)) return CongestionAction::none;
  enter_recovery(snd_una, snd_nxt);
  return CongestionAction::retransmit_first_unacked;
}

void NewReno::on_loss_repaired_by_probe() {
  save_prior();
  m_ssthresh = std::max(m_cwnd / 2, 2 * m_smss);
  m_cwnd = m_ssthresh;
  m_bytes_acked = 0;
}

bool NewReno::undo_reduction(SequenceNumber snd_una) {
  if (!m_prior) return false;
  m_recover = snd_una - 1;
  // As Linux's tcp_undo_cwnd_reduction: never below what the window is now.
  m_cwnd = std::max(m_cwnd, m_prior->cwnd);
  m_ssthresh = std::max(m_ssthresh, m_prior->ssthresh);
  m_prior.reset();
  m_in_recovery = false;
  m_timed_out = false;
  m_slow_start_after_timeout = false;
  m_duplicate_acks = 0;
  return true;
}

void NewReno::save_prior() {
  // A timeout during recovery (or the reverse) is one episode: undo goes back
  // to before the first reduction.
  if (m_in_recovery || m_timed_out) return;
  m_prior = Prior{m_cwnd, m_ssthresh};
  ++m_reductions;
}

void NewReno::enter_recovery(SequenceNumber snd_una, SequenceNumber snd_nxt) {
  // RFC 5681 §3.2 steps 2-3; RFC 6675 §5 steps 4.1-4.2.
  save_prior();
  m_ssthresh = reduced_ssthresh(snd_una, snd_nxt);
  m_cwnd = m_loss_recovery == LossRecovery::newreno ? grow(m_ssthresh, dup_thresh * m_smss) : m_ssthresh;
  m_recover = snd_nxt - 1;
  m_in_recovery = true;
  m_bytes_acked = 0;
}

void NewReno::exit_recovery(SequenceNumber snd_una, SequenceNumber snd_nxt) {
  m_in_recovery = false;
  if (m_loss_recovery == LossRecovery::sack) return; // cwnd is already ssthresh (RFC 6675 §5 step 4.2)
  // RFC 6582 §3.2 step 3, option (1): min(ssthresh, max(FlightSize, SMSS) + SMSS).
  auto flight_size = static_cast<std::uint32_t>(std::max(snd_nxt - snd_una, 0));
  m_cwnd = std::min(m_ssthresh, std::max(flight_size, m_smss) + m_smss);
}

void NewReno::on_retransmit_timeout(SequenceNumber snd_una, SequenceNumber snd_nxt) {
  save_prior();
  if (!m_timed_out) m_ssthresh = reduced_ssthresh(snd_una, snd_nxt);
  m_cwnd = m_smss; // the loss window (RFC 5681 §3.1)
  m_recover = snd_nxt - 1;
  m_in_recovery = false;
  m_duplicate_acks = 0;
  m_bytes_acked = 0;
  m_timed_out = true;
  m_slow_start_after_timeout = true;
}

void NewReno::on_send(Instant now, Duration rto) {
  if (m_restart_after_idle && m_last_send && now - *m_last_send > rto) m_cwnd = std::min(m_cwnd, m_initial_window);
  m_last_send = now;
}

void NewReno::on_handshake_retransmitted() { m_cwnd = m_smss; }

std::uint32_t NewReno::allowed_in_flight() const {
  if (m_in_recovery || m_duplicate_acks >= dup_thresh) return m_cwnd;
  return grow(m_cwnd, m_duplicate_acks * m_smss);
}

} // namespace morgana::net
