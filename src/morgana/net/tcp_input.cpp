#include "morgana/net/tcp_connection.h"

#include <algorithm>

#include "morgana/core/counter.h"
#include "morgana/net/tcp.h"

namespace morgana::net {

// Segment arrival, RFC 9293 §3.10.7: the SYN-SENT steps, then the numbered
// steps for the other states, in the RFC's order.

namespace {

Counter unacceptable{"tcp.unacceptable_segments", "segments outside the receive window, answered with an ACK"};
Counter paws_rejected{"tcp.paws_rejected", "segments with an old timestamp (RFC 7323 PAWS)"};
Counter challenge_acks{"tcp.challenge_acks", "challenge ACKs sent for suspicious RST, SYN or ACK (RFC 5961)"};
Counter resets_received{"tcp.resets_received", "connections reset by the peer"};
Counter bad_acks{"tcp.bad_acks", "ACKs for data never sent"};
Counter data_after_close{"tcp.data_after_close", "data received after the application closed; answered with RST"};
Counter fast_retransmits{"tcp.fast_retransmits", "segments retransmitted on duplicate ACKs"};

} // namespace

void TcpConnection::segment_arrives(const TcpHeader& received, Bytes payload) {
  ++m_stats.segments_received;
  m_last_received = MonotonicClock::now();
  m_keepalive_probes = 0;
  if (m_options.keepalive) {
    // After a probe the timer waits for the probe interval; an idle time shorter than that must wake it.
    m_deadlines.keepalive = m_last_received + *m_options.keepalive;
    wake_timer();
  }

  if (m_state == TcpState::syn_sent) {
    syn_sent_arrives(received, payload);
    output();
    return;
  }
  if (m_state == TcpState::closed) return;

  TcpHeader header = received;
  // A repeated SYN in SYN-RECEIVED: the SYN-ACK was lost, or this is a
  // simultaneous open's SYN-ACK. Take the SYN as already counted.
  if (m_state == TcpState::syn_received && header.has(tcp_flag::syn) && header.sequence == m_rcv.irs) {
    if (!header.has(tcp_flag::ack)) {
      send_segment(m_snd.iss, tcp_flag::syn | tcp_flag::ack, 0);
      return;
    }
    header.flags &= static_cast<std::uint8_t>(~tcp_flag::syn);
    header.sequence = m_rcv.irs + 1;
  }
  std::size_t length = payload.size() + (header.has(tcp_flag::syn) ? 1 : 0) + (header.has(tcp_flag::fin) ? 1 : 0);

  // RFC 7323 §5.3: PAWS, before the window test.
  if (m_timestamps && header.timestamps && !header.has(tcp_flag::rst) &&
      static_cast<std::int32_t>(header.timestamps->value - m_ts_recent) < 0) {
    paws_rejected.increment();
    schedule_ack(true);
    output();
    return;
  }
  // First: the sequence number.
  if (!acceptable(header, length)) {
    unacceptable.increment();
    if (header.has(tcp_flag::rst)) return;
    note_duplicate(header.sequence, payload.size());
    schedule_ack(true);
    // Old text or FIN that ends exactly at RCV.NXT may carry a new ACK: a peer
    // whose FIN crossed ours resends it with the ACK of ours (slirp does). Its
    // ACK counts, as in Linux (tcp_sequence measures from the segment's end),
    // or our FIN would wait for its retransmission timeout.
    bool ends_at_next = header.sequence + static_cast<std::uint32_t>(length) == m_receive_buffer.next();
    if (ends_at_next && synchronized() && header.has(tcp_flag::ack) && !header.has(tcp_flag::syn) &&
        !check_ack(header, length))
      return;
    output();
    return;
  }
  // RFC 7323 §4.3: remember the timestamp of the segment that covers Last.ACK.sent.
  if (m_timestamps && header.timestamps && header.sequence <= m_last_ack_sent) m_ts_recent = header.timestamps->value;
  // Second: RST.
  if (header.has(tcp_flag::rst)) {
    check_rst(header);
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4).
  if (header.has(tcp_flag::syn)) {
    send_challenge_ack();
    return;
  }
  // Fifth: ACK.
  if (!header.has(tcp_flag::ack)) return;
  if (!check_ack(header, length)) return;
  // Seventh: the segment text; eighth: FIN.
  process_text(header, payload);
  if (m_state == TcpState::closed) return;
  if (header.has(tcp_flag::fin)) {
    auto fin = header.sequence + static_cast<std::uint32_t>(payload.size());
    if (!m_peer_fin) m_peer_fin = fin;
  }
  if (m_peer_fin && !m_peer_fin_received && *m_peer_fin == m_receive_buffer.next()) process_fin();
  output();
}

void TcpConnection::syn_sent_arrives(const TcpHeader& header, Bytes payload) {
  (void)payload;
  bool has_ack = header.has(tcp_flag::ack);
  if (has_ack && (header.acknowledgment <= m_snd.iss || header.acknowledgment > m_snd.max)) {
    if (!header.has(tcp_flag::rst)) send_rst_for(header, payload.size());
    return;
  }
  if (header.has(tcp_flag::rst)) {
    if (has_ack) {
      resets_received.increment();
      fail_with(Errc::closed); // connection refused
    }
    return;
  }
  if (!header.has(tcp_flag::syn)) return;
  start_receive_sequence(header.sequence);
  take_peer_options(header);
  if (m_timestamps && !header.timestamps) m_timestamps = false;
  m_snd.wl1 = header.sequence;
  m_snd.wl2 = header.acknowledgment;
  m_snd.wnd = header.window;
  m_snd.max_wnd = m_snd.wnd;
  if (has_ack) {
    m_snd.una = header.acknowledgment;
    if (!allocate_buffers()) {
      m_tcp.refuse_for_memory(m_remote);
      send_rst_for(header, payload.size());
      fail_with(Errc::no_memory);
      return;
    }
    m_retransmit_timer.stop();
    set_state(TcpState::established);
    schedule_ack(true);
    return;
  }
  // Simultaneous open (RFC 9293 §3.5, figure 8).
  set_state(TcpState::syn_received);
  send_segment(m_snd.iss, tcp_flag::syn | tcp_flag::ack, 0);
}

bool TcpConnection::acceptable(const TcpHeader& header, std::size_t length) const {
  // RFC 9293 §3.10.7.4, the four cases of the acceptability test.
  // RCV.WND is what we offered (the free space, or more when window scaling
  // rounded the offered edge up past it): the peer may fill all of that.
  auto rcv_nxt = m_receive_buffer.next();
  auto rcv_wnd =
      static_cast<std::uint32_t>(std::min<std::size_t>(std::max(receive_space(), offered_window()), 0x7fffffff));
  auto seq = header.sequence;
  // A segment without text numbered at the right edge is the peer's SND.NXT
  // after it filled our window: its ACK must count (§3.10.7.4: "special
  // allowance should be made to accept valid ACKs"), or a peer that sent up to
  // the edge and a receiver whose window stays shut stop hearing each other.
  if (length == 0) return seq == rcv_nxt + rcv_wnd || (rcv_wnd > 0 && in_window(seq, rcv_nxt, rcv_wnd));
  // A zero window still takes ACKs and RSTs: the text is trimmed later.
  if (rcv_wnd == 0) return seq == rcv_nxt;
  return in_window(seq, rcv_nxt, rcv_wnd) || in_window(seq + static_cast<std::uint32_t>(length - 1), rcv_nxt, rcv_wnd);
}

void TcpConnection::check_rst(const TcpHeader& header) {
  // RFC 5961 §3.2: reset only on an exact match; otherwise challenge.
  if (header.sequence != m_receive_buffer.next()) {
    send_challenge_ack();
    return;
  }
  resets_received.increment();
  if (m_state == TcpState::syn_received && m_listener) {
    // Back to LISTEN (RFC 9293 §3.10.7.4): the listener simply forgets it.
    connection_done();
    return;
  }
  bool reset_error = m_state == TcpState::syn_received || m_state == TcpState::established ||
                     m_state == TcpState::fin_wait_1 || m_state == TcpState::fin_wait_2 ||
                     m_state == TcpState::close_wait;
  if (reset_error) fail_with(Errc::closed);
  else connection_done();
}

bool TcpConnection::check_ack(const TcpHeader& header, std::size_t length) {
  auto ack = header.acknowledgment;
  if (m_state == TcpState::syn_received) {
    if (!(m_snd.una < ack && ack <= m_snd.max)) {
      send_rst_for(header, length);
      return false;
    }
    if (!allocate_buffers()) {
      m_tcp.refuse_for_memory(m_remote);
      send_rst_for(header, length);
      connection_done();
      return false;
    }
    m_snd.wl1 = header.sequence;
    m_snd.wl2 = ack;
    m_snd.wnd = std::uint32_t{header.window} << m_snd.wscale;
    m_snd.max_wnd = std::max(m_snd.max_wnd, m_snd.wnd);
    m_snd.una = ack;
    m_retransmit_timer.stop();
    set_state(TcpState::established);
    if (m_state != TcpState::established) return false;
  }
  // RFC 5961 §5.2: ACKs too old or for data never sent.
  if (ack > m_snd.max) {
    bad_acks.increment();
    schedule_ack(true);
    output();
    return false;
  }
  if (ack < m_snd.una - std::max(m_snd.max_wnd, 1u)) {
    send_challenge_ack();
    return false;
  }
  bool advanced = ack > m_snd.una;
  bool was_in_recovery = m_congestion && m_congestion->in_recovery();
  if (advanced) on_new_ack(header);
  std::uint32_t newly_sacked = m_scoreboard ? m_scoreboard->update(m_snd.una, m_snd.max, header.sack()) : 0;
  detect_losses(header, advanced, was_in_recovery);
  // A duplicate ACK: RFC 6675 §2 with SACK (it newly SACKs data), else RFC 5681 §2.
  bool duplicate =
      !advanced && ack == m_snd.una && bytes_in_flight() > 0 && m_congestion &&
      (m_scoreboard ? newly_sacked > 0 : length == 0 && (std::uint32_t{header.window} << m_snd.wscale) == m_snd.wnd);
  if (duplicate) {
    bool lost = m_scoreboard && m_scoreboard->is_lost(m_snd.una);
    if (m_congestion->on_duplicate_ack(m_snd.una, m_snd.max, lost) == CongestionAction::retransmit_first_unacked) {
      fast_retransmits.increment();
      ++m_stats.fast_retransmits;
      retransmit_first_unacked();
    }
  }
  update_window(header);
  switch (m_state) {
  case TcpState::fin_wait_1:
    if (fin_acked()) {
      set_state(TcpState::fin_wait_2);
      if (m_released) start_fin_wait_2_timeout();
    }
    break;
  case TcpState::closing:
    if (fin_acked()) enter_time_wait();
    break;
  case TcpState::last_ack:
    if (fin_acked()) {
      connection_done();
      return false;
    }
    break;
  default: break;
  }
  return true;
}

void TcpConnection::on_new_ack(const TcpHeader& header) {
  auto ack = header.acknowledgment;
  auto acked = static_cast<std::uint32_t>(ack - m_snd.una);
  auto data_acked = acked;
  if (m_fin_sequence && ack > *m_fin_sequence) --data_acked;
  m_send_buffer.consume(data_acked);
  auto now = MonotonicClock::now();
  // RTT: from the echoed timestamp (RFC 7323 §4), or the one timed segment (Karn).
  if (m_timestamps && header.timestamps && header.timestamps->echo_reply != 0) {
    auto elapsed = static_cast<std::int32_t>(timestamp_now() - header.timestamps->echo_reply);
    if (elapsed >= 0) m_rtt.on_rtt_sample(std::chrono::milliseconds(elapsed));
  } else if (m_rtt_sequence && ack > *m_rtt_sequence) {
    m_rtt.on_rtt_sample(now - m_rtt_started);
    m_rtt_sequence.reset();
  }
  m_snd.una = ack;
  if (m_snd.nxt < m_snd.una) m_snd.nxt = m_snd.una;
  m_retries = 0;
  // RFC 6582 §3.2 step 3: a partial ACK retransmits the first unacknowledged segment.
  if (m_congestion && m_congestion->on_ack(m_snd.una, m_snd.max, acked) == CongestionAction::retransmit_first_unacked)
    retransmit_first_unacked();
  m_retransmit_timer.on_new_data_acked(now, m_rtt.rto(), bytes_in_flight() > 0);
  wake_timer();
  m_writers.notify_all();
  if (fin_acked()) free_finished_buffers();
}

void TcpConnection::update_window(const TcpHeader& header) {
  // RFC 9293 §3.10.7.4: take the window only from segments not older than the last update.
  if (!(m_snd.wl1 < header.sequence || (m_snd.wl1 == header.sequence && m_snd.wl2 <= header.acknowledgment))) return;
  m_snd.wnd = std::uint32_t{header.window} << m_snd.wscale;
  m_snd.max_wnd = std::max(m_snd.max_wnd, m_snd.wnd);
  m_snd.wl1 = header.sequence;
  m_snd.wl2 = header.acknowledgment;
  if (m_snd.wnd > 0) {
    // The window opened: the next zero-window episode probes from the start again.
    m_deadlines.persist = far_future;
    m_persist_backoff = Duration{};
  }
}

void TcpConnection::process_text(const TcpHeader& header, Bytes payload) {
  if (payload.empty()) return;
  if (m_state != TcpState::established && m_state != TcpState::fin_wait_1 && m_state != TcpState::fin_wait_2) return;
  if (m_released && m_fin_sequence) {
    // The application let go (release() shut down; a connection the listener
    // holds until accept() is released but not shut down): nobody will read
    // this, so tell the peer (RFC 2525 §2.17, as Linux does).
    data_after_close.increment();
    send_rst_for(header, payload.size());
    connection_done();
    return;
  }
  bool in_order = header.sequence == m_receive_buffer.next();
  bool had_gaps = m_receive_buffer.has_gaps();
  note_duplicate(header.sequence, payload.size());
  auto advanced = m_receive_buffer.insert(header.sequence, payload);
  m_stats.bytes_received += advanced;
  if (advanced) m_readers.notify_all();
  // RFC 5681 §4.2 and RFC 1122 §4.2.3.2: ACK out-of-order data and gap fills at
  // once; otherwise at least every second full-sized segment, or after a delay.
  if (!in_order || had_gaps || advanced == 0) {
    schedule_ack(true);
    return;
  }
  // A segment the device coalesced (GRO) counts as the full-sized ones it was.
  if (payload.size() >= m_send_mss) m_unacked_segments += static_cast<int>(payload.size() / m_send_mss);
  if (m_unacked_segments >= 2) schedule_ack(true);
  else schedule_ack(false);
}

void TcpConnection::process_fin() {
  m_receive_buffer.advance_for_control();
  m_peer_fin_received = true;
  m_readers.notify_all();
  schedule_ack(true);
  free_finished_buffers();
  switch (m_state) {
  case TcpState::syn_received:
  case TcpState::established: set_state(TcpState::close_wait); break;
  case TcpState::fin_wait_1:
    if (fin_acked()) enter_time_wait();
    else set_state(TcpState::closing);
    break;
  case TcpState::fin_wait_2:
  case TcpState::time_wait: // a retransmitted FIN restarts the 2 MSL timeout
    enter_time_wait();
    break;
  default: break;
  }
}

bool TcpConnection::admits_new_incarnation(const TcpHeader& syn) const {
  // RFC 6191 §2: with timestamps on both incarnations, a newer TSval admits the
  // SYN (an equal one needs a newer sequence number too); otherwise the sequence
  // number must lie beyond the last RCV.NXT (RFC 1122 §4.2.2.13). The new
  // incarnation uses timestamps when the SYN offers them: we then always agree.
  if (m_state != TcpState::time_wait) return false;
  bool newer_sequence = syn.sequence > m_receive_buffer.next();
  if (!syn.timestamps) return newer_sequence;
  if (!m_timestamps) return true;
  auto age = static_cast<std::int32_t>(syn.timestamps->value - m_ts_recent);
  return age > 0 || (age == 0 && newer_sequence);
}

void TcpConnection::send_challenge_ack() {
  challenge_acks.increment();
  send_ack();
}

void TcpConnection::send_rst_for(const TcpHeader& header, std::size_t length) {
  m_tcp.send_reset(m_local, m_remote, header, length);
}

} // namespace morgana::net
