#include <algorithm>
#include <utility>

#include "morgana/core/counter.h"
#include "morgana/net/tcp.h"
#include "morgana/net/tcp_connection.h"

namespace morgana::net {

// Loss detection beyond duplicate ACKs: RACK marks losses by time (RFC 8985
// §6) and feeds the RFC 6675 recovery through the scoreboard; the Tail Loss
// Probe (§7) makes a lost tail produce SACKs instead of waiting for the RTO;
// D-SACK (RFC 2883) is sent for duplicates received and, on receipt, widens
// RACK's reordering window and undoes reductions that were spurious.

namespace {

Counter dsacks_received{"tcp.dsacks_received", "D-SACK blocks received (RFC 2883): the peer got data twice"};
Counter spurious_undone{"tcp.spurious_recoveries_undone",
                        "cwnd reductions undone: D-SACK or timestamps showed the retransmissions were spurious"};
Counter rack_losses{"tcp.rack_losses", "ACKs or reordering timeouts on which RACK (RFC 8985) marked data lost"};
Counter tlp_probes{"tcp.tlp_probes", "Tail Loss Probes sent (RFC 8985 §7)"};
Counter tlp_recoveries{"tcp.tlp_recoveries", "losses repaired by a Tail Loss Probe alone"};

// RFC 8985 §7.2's WCDelAckT: a lone segment may wait this long for a delayed ACK.
constexpr Duration worst_case_delayed_ack = std::chrono::milliseconds(200);
// Added to 2 SRTT for a flight of several segments, as Linux's TCP_TIMEOUT_MIN:
// SRTT from millisecond timestamps may be 0, and ACKs come in bursts.
constexpr Duration probe_timeout_slack = std::chrono::milliseconds(2);
// Before any RTT sample (RFC 8985 §7.2).
constexpr Duration initial_probe_timeout = std::chrono::seconds(1);

} // namespace

void TcpConnection::on_data_sent(SequenceNumber sequence, std::uint32_t length) {
  auto now = MonotonicClock::now();
  m_rack.on_sent(sequence, sequence + length, now);
  if (!(sequence < m_snd.max)) {
    schedule_loss_probe(true);
    return;
  }
  if (!m_probe.sending) note_retransmission(sequence, sequence + length);
}

void TcpConnection::note_retransmission(SequenceNumber begin, SequenceNumber end) {
  if (!m_congestion) return;
  auto reduction = m_congestion->reductions();
  if (!m_undo.active || m_undo.reduction != reduction) {
    m_undo = UndoEpisode{true, reduction, begin, end, 0, timestamp_now(), m_timestamps};
  }
  m_undo.low = seq_min(m_undo.low, begin);
  m_undo.high = seq_max(m_undo.high, end);
  m_undo.undsacked += static_cast<std::uint32_t>(end - begin);
}

void TcpConnection::detect_losses(const TcpHeader& header, bool advanced, bool was_in_recovery) {
  auto now = MonotonicClock::now();
  std::optional<SackBlock> dsack = m_sack_permitted ? dsack_block(header.acknowledgment, header.sack()) : std::nullopt;
  if (dsack) on_dsack(*dsack);
  if (advanced && m_undo.active && m_undo.eifel_pending && header.timestamps && m_snd.una >= m_undo.high) {
    // RFC 3522 §3.2: the ACK for all the retransmitted data echoes a timestamp
    // from before the first retransmission: the originals arrived.
    m_undo.eifel_pending = false;
    auto echo = header.timestamps->echo_reply;
    if (echo != 0 && static_cast<std::int32_t>(echo - m_undo.first_tsval) < 0) undo_spurious_reduction();
  }
  process_probe_ack(header, dsack.has_value(), advanced);
  if (m_rack.allocated() && m_scoreboard && m_congestion) {
    bool in_recovery = m_congestion->in_recovery();
    if (was_in_recovery && !in_recovery) m_rack.on_recovery_end();
    apply_rack_verdict(
        m_rack.on_ack(m_snd.una, m_snd.max, m_scoreboard->ranges(), dsack.has_value(), in_recovery, m_rtt.srtt(), now),
        now);
  }
  schedule_loss_probe(advanced);
}

void TcpConnection::apply_rack_verdict(const Rack::Verdict& verdict, Instant now) {
  m_scoreboard->set_rack_lost_end(verdict.lost_end);
  m_congestion->set_rack(verdict.lost_end.has_value());
  m_deadlines.reorder = verdict.reorder_timeout > Duration{} ? now + verdict.reorder_timeout : far_future;
  wake_timer();
  if (!verdict.new_losses) return;
  rack_losses.increment();
  if (m_congestion->in_recovery()) {
    // A retransmission lost again: NextSeg must reach it once more.
    if (verdict.lost_retransmission && !(m_high_rxt < *verdict.lost_retransmission))
      m_high_rxt = *verdict.lost_retransmission - 1;
    return;
  }
  if (m_congestion->on_loss_detected(m_snd.una, m_snd.max) == CongestionAction::retransmit_first_unacked) {
    ++m_stats.fast_retransmits;
    retransmit_first_unacked();
  }
}

void TcpConnection::on_reorder_timeout() {
  m_deadlines.reorder = far_future;
  if (!m_rack.allocated() || !m_scoreboard || !m_congestion) return;
  auto now = MonotonicClock::now();
  apply_rack_verdict(m_rack.detect_loss(m_snd.una, m_congestion->in_recovery(), m_rtt.srtt(), now), now);
  output();
}

void TcpConnection::on_dsack(SackBlock block) {
  dsacks_received.increment();
  // The last probe's duplicate says nothing about the recovery's retransmissions.
  if (m_probe.resent.left <= block.left && block.right <= m_probe.resent.right) return;
  if (!m_undo.active || block.left < m_undo.low || m_undo.high < block.right) return;
  m_undo.undsacked -= std::min(m_undo.undsacked, static_cast<std::uint32_t>(block.right - block.left));
  if (m_undo.undsacked == 0) undo_spurious_reduction();
}

void TcpConnection::undo_spurious_reduction() {
  if (!m_congestion || m_congestion->reductions() != m_undo.reduction) return;
  m_undo.active = false;
  if (!m_congestion->undo_reduction(m_snd.una)) return;
  spurious_undone.increment();
  tcp_log.debug("{} -> {}: spurious recovery undone, cwnd {}", m_local, m_remote, m_congestion->cwnd());
}

void TcpConnection::process_probe_ack(const TcpHeader& header, bool dsack, bool advanced) {
  // RFC 8985 §7.4, as Linux's tcp_process_tlp_ack.
  if (!m_probe.end_seq || header.acknowledgment < *m_probe.end_seq) return;
  if (dsack) {
    m_probe.end_seq.reset(); // the original and the probe both arrived: no loss
    return;
  }
  if (header.acknowledgment > *m_probe.end_seq) {
    // Acknowledged past the probe without a D-SACK for it: the probe repaired a loss.
    m_probe.end_seq.reset();
    tlp_recoveries.increment();
    if (m_congestion && !m_congestion->in_recovery()) m_congestion->on_loss_repaired_by_probe();
    return;
  }
  if (!advanced && header.sack().empty()) m_probe.end_seq.reset();
}

bool TcpConnection::loss_probe_allowed() const {
  // RFC 8985 §7.2: with SACK, in the open state (no recovery, no go-back-N
  // after a timeout), one probe at a time, and something in flight to probe for.
  bool sending_state = m_state == TcpState::established || m_state == TcpState::close_wait ||
                       m_state == TcpState::fin_wait_1 || m_state == TcpState::closing || m_state == TcpState::last_ack;
  return sending_state && m_rack.tracking() && m_congestion && !m_congestion->in_recovery() && !m_probe.end_seq &&
         bytes_in_flight() > 0 && m_snd.nxt == m_snd.max;
}

void TcpConnection::schedule_loss_probe(bool restart) {
  if (!loss_probe_allowed()) {
    m_deadlines.loss_probe = far_future;
    return;
  }
  if (!restart && m_deadlines.loss_probe != far_future) return;
  // RFC 8985 §7.2: PTO = 2 SRTT, plus the worst delayed ACK for a lone segment.
  Duration pto = m_rtt.has_sample() ? 2 * m_rtt.srtt() : initial_probe_timeout;
  pto += bytes_in_flight() <= m_send_mss ? worst_case_delayed_ack : probe_timeout_slack;
  auto deadline = MonotonicClock::now() + pto;
  // A probe no sooner than the RTO would be the RTO's retransmission.
  m_deadlines.loss_probe = deadline < m_retransmit_timer.deadline() ? deadline : far_future;
  wake_timer();
}

void TcpConnection::on_loss_probe_timeout() {
  m_deadlines.loss_probe = far_future;
  auto now = MonotonicClock::now();
  if (!loss_probe_allowed() || m_retransmit_timer.expired(now)) return;
  // RFC 8985 §7.3 prefers new data when the windows allow; resending the last
  // segment always works and is what an application-limited tail needs.
  auto start = m_snd.max - std::min(bytes_in_flight(), m_send_mss);
  m_probe.sending = true;
  auto covered = retransmit(start, static_cast<std::uint32_t>(m_snd.max - start));
  m_probe.sending = false;
  if (covered == 0) return;
  tlp_probes.increment();
  m_probe.end_seq = m_snd.max;
  m_probe.resent = SackBlock{start, start + covered};
  m_retransmit_timer.restart(now, m_rtt.rto());
  wake_timer();
}

void TcpConnection::reset_loss_detection_on_timeout() {
  m_rack.on_retransmit_timeout();
  m_probe.end_seq.reset();
  m_deadlines.reorder = far_future;
  m_deadlines.loss_probe = far_future;
}

void TcpConnection::note_duplicate(SequenceNumber sequence, std::size_t length) {
  if (!m_sack_permitted) return;
  if (auto duplicate = m_receive_buffer.duplicate(sequence, length)) m_dsack_to_send = duplicate;
}

std::size_t TcpConnection::sack_blocks_to_send(SackBlock* out, std::size_t count) {
  if (count == 0) return 0;
  std::size_t produced = 0;
  if (m_dsack_to_send) out[produced++] = *std::exchange(m_dsack_to_send, std::nullopt);
  return produced + m_receive_buffer.sack_blocks(out + produced, count - produced);
}

} // namespace morgana::net
