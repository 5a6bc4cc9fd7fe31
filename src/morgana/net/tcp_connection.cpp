#include "morgana/net/tcp_connection.h"

#include <algorithm>
#include <utility>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/net/stack.h"
#include "morgana/net/tcp.h"

namespace morgana::net {

log::Source tcp_log{"tcp"};

namespace {

Counter unacceptable{"tcp.unacceptable_segments", "segments outside the receive window, answered with an ACK"};
Counter paws_rejected{"tcp.paws_rejected", "segments with an old timestamp (RFC 7323 PAWS)"};
Counter challenge_acks{"tcp.challenge_acks", "challenge ACKs sent for suspicious RST, SYN or ACK (RFC 5961)"};
Counter resets_received{"tcp.resets_received", "connections reset by the peer"};
Counter bad_acks{"tcp.bad_acks", "ACKs for data never sent"};
Counter data_after_close{"tcp.data_after_close", "data received after the application closed; answered with RST"};
Counter retransmit_timeouts{"tcp.retransmit_timeouts", "retransmission timer expiries"};
Counter fast_retransmits{"tcp.fast_retransmits", "segments retransmitted on duplicate ACKs"};
Counter connections_timed_out{"tcp.connections_timed_out", "connections given up after too many retransmissions"};
Counter no_memory{"tcp.no_memory", "segments not sent for want of memory"};

// RFC 9293 §3.8.3: give up on a SYN after R2 ≥ 3 minutes; on data after R2 ≥ 100 s.
constexpr std::uint32_t max_syn_retries = 6;
constexpr std::uint32_t max_data_retries = 12;
// RFC 1122 §4.2.3.2: delay an ACK by less than 0.5 s; Linux starts at 40 ms.
constexpr Duration delayed_ack_timeout = std::chrono::milliseconds(40);
// RFC 1122 §4.2.3.6: probe interval and count after the idle time.
constexpr Duration keepalive_interval = std::chrono::seconds(75);
constexpr int keepalive_max_probes = 9;
// An orphaned connection waits this long in FIN-WAIT-2 for the peer's FIN (as Linux's tcp_fin_timeout).
constexpr Duration fin_wait_2_timeout = std::chrono::seconds(60);
constexpr Duration max_persist_interval = std::chrono::seconds(60);
constexpr std::uint16_t default_mss = 536; // RFC 9293 §3.7.1
constexpr std::size_t timestamp_option_length = 12;

std::uint8_t window_shift_for(std::size_t capacity) {
  std::uint8_t shift = 0;
  while (shift < TcpHeader::maximum_window_scale && (capacity >> shift) > 0xffff) ++shift;
  return shift;
}

} // namespace

std::string_view state_name(TcpState state) {
  switch (state) {
  case TcpState::closed: return "CLOSED";
  case TcpState::syn_sent: return "SYN-SENT";
  case TcpState::syn_received: return "SYN-RECEIVED";
  case TcpState::established: return "ESTABLISHED";
  case TcpState::fin_wait_1: return "FIN-WAIT-1";
  case TcpState::fin_wait_2: return "FIN-WAIT-2";
  case TcpState::close_wait: return "CLOSE-WAIT";
  case TcpState::closing: return "CLOSING";
  case TcpState::last_ack: return "LAST-ACK";
  case TcpState::time_wait: return "TIME-WAIT";
  }
  return "?";
}

TcpConnection::TcpConnection(Tcp& tcp, Endpoint local, Endpoint remote, TcpConnectionOptions options)
    : m_tcp(tcp), m_local(local), m_remote(remote), m_options(options), m_created(MonotonicClock::now()) {
  m_last_received = m_created;
  m_rcv_wscale = window_shift_for(m_options.receive_buffer);
}

TcpConnection::~TcpConnection() = default;

TcpStats TcpConnection::stats() const {
  auto stats = m_stats;
  stats.srtt = m_rtt.srtt();
  stats.rto = m_rtt.rto();
  stats.cwnd = m_congestion ? m_congestion->cwnd() : 0;
  stats.ssthresh = m_congestion ? m_congestion->ssthresh() : 0;
  stats.send_mss = m_send_mss;
  return stats;
}

bool TcpConnection::synchronized() const {
  return m_state != TcpState::closed && m_state != TcpState::syn_sent && m_state != TcpState::syn_received;
}

std::uint32_t TcpConnection::timestamp_now() const {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(MonotonicClock::now().time_since_epoch());
  return static_cast<std::uint32_t>(ms.count()) + m_ts_offset;
}

std::uint32_t TcpConnection::unsent_bytes() const {
  auto data_end = m_snd_una + static_cast<std::uint32_t>(m_send_buffer.size());
  return data_end > m_snd_nxt ? static_cast<std::uint32_t>(data_end - m_snd_nxt) : 0;
}

// Opening.

Result<void> TcpConnection::open_active() {
  m_iss = m_tcp.initial_sequence(m_local, m_remote);
  m_ts_offset = m_iss.value();
  m_snd_una = m_snd_nxt = m_snd_max = m_iss;
  set_state(TcpState::syn_sent);
  send_segment(m_iss, tcp_flag::syn, 0);
  m_snd_nxt = m_snd_max = m_iss + 1; // after sending: the first SYN is no retransmission
  m_retransmit_timer.on_data_sent(MonotonicClock::now(), m_rtt.rto());
  m_timer_task = run_timers();
  m_timer_task.start();
  return {};
}

Result<void> TcpConnection::open_passive(const TcpHeader& syn, TcpListener* listener, SequenceNumber iss) {
  m_listener = listener;
  m_released = true; // the listener's until accepted
  m_irs = syn.sequence;
  m_receive_buffer.start(m_irs + 1);
  m_rcv_adv_edge = m_irs + 1; // nothing offered yet (RFC 9293 §3.8.6.2.2 measures from here)
  take_peer_options(syn);
  m_snd_wnd = syn.window; // never scaled in a SYN (RFC 7323 §2.2)
  m_iss = iss;
  m_ts_offset = m_iss.value();
  m_snd_una = m_snd_nxt = m_snd_max = m_iss;
  set_state(TcpState::syn_received);
  send_segment(m_iss, tcp_flag::syn | tcp_flag::ack, 0);
  m_snd_nxt = m_snd_max = m_iss + 1; // after sending: the first SYN-ACK is no retransmission
  m_retransmit_timer.on_data_sent(MonotonicClock::now(), m_rtt.rto());
  m_timer_task = run_timers();
  m_timer_task.start();
  return {};
}

void TcpConnection::open_from_cookie(const TcpHeader& ack, std::uint16_t mss, TcpListener* listener) {
  m_listener = listener;
  m_released = true; // the listener's until accepted
  m_irs = ack.sequence - 1;
  m_receive_buffer.start(ack.sequence);
  m_rcv_adv_edge = ack.sequence;
  m_rcv_wscale = 0;
  m_send_mss = std::min<std::uint32_t>(mss, m_tcp.mss_for_mtu());
  m_iss = ack.acknowledgment - 1;
  m_ts_offset = m_iss.value();
  m_snd_una = m_iss;
  m_snd_nxt = m_snd_max = m_iss + 1;
  m_state = TcpState::syn_received;
  m_timer_task = run_timers();
  m_timer_task.start();
}

void TcpConnection::take_peer_options(const TcpHeader& syn) {
  // A passive side offers an option only when the SYN did (RFC 7323 §1.3, RFC 2018 §2).
  m_window_scaling = syn.window_scale.has_value();
  m_snd_wscale = m_window_scaling ? *syn.window_scale : 0;
  if (!m_window_scaling) m_rcv_wscale = 0;
  m_sack_permitted = syn.sack_permitted;
  m_timestamps = syn.timestamps.has_value();
  if (m_timestamps) m_ts_recent = syn.timestamps->value;
  std::uint32_t peer_mss = syn.mss.value_or(default_mss);
  m_send_mss = std::min<std::uint32_t>(peer_mss, m_tcp.mss_for_mtu());
  // The MSS option counts no TCP options; leave room for the timestamps every segment carries.
  if (m_timestamps) m_send_mss -= timestamp_option_length;
  m_send_mss = std::max<std::uint32_t>(m_send_mss, 64);
}

Result<void> TcpConnection::allocate_buffers() {
  // Memory may have grown scarcer since the SYN: the rings shrink from the sizes
  // chosen then (the window offered in the SYN bounds what the peer sends first),
  // and when even the smallest do not fit with the reserve, they are tried anyway.
  auto smallest = m_options;
  smallest.send_buffer = std::min(smallest.send_buffer, tcp_minimum_buffer);
  smallest.receive_buffer = std::min(smallest.receive_buffer, tcp_minimum_buffer);
  m_options = size_for_memory(m_options, platform::memory_stats()).value_or(smallest);
  if (!m_send_buffer.allocated()) TRY(m_send_buffer.allocate(m_options.send_buffer));
  if (!m_receive_buffer.allocated()) TRY(m_receive_buffer.allocate(m_options.receive_buffer));
  return {};
}

void TcpConnection::free_finished_buffers() {
  bool sending_done = m_state == TcpState::closed || fin_acked();
  if (sending_done) {
    // Writes fail from here on, and everything sent was acknowledged (or never will be).
    m_send_buffer = RingBuffer{};
    m_scoreboard.reset();
  }
  // No more data comes after the peer's FIN; what is unread stays until read,
  // unless the application let go of a closed connection.
  bool receiving_done = m_state == TcpState::closed || m_peer_fin_received;
  bool unread_wanted = m_receive_buffer.readable() > 0 && !(m_released && m_state == TcpState::closed);
  if (receiving_done && !unread_wanted && m_receive_buffer.allocated()) m_receive_buffer.release();
}

void TcpConnection::set_state(TcpState state) {
  if (state == m_state) return;
  tcp_log.trace("{} -> {}: {} -> {}", m_local, m_remote, state_name(m_state), state_name(state));
  bool was_handshaking = !synchronized() && m_state != TcpState::closed;
  m_state = state;
  if (was_handshaking && synchronized()) {
    NewReno::Config config;
    config.smss = m_send_mss;
    config.iss = m_iss;
    config.loss_recovery = m_sack_permitted ? LossRecovery::sack : LossRecovery::newreno;
    m_congestion.emplace(config);
    if (m_sack_permitted) m_scoreboard.emplace(m_send_mss);
    if (m_retries > 0) {
      m_rtt.on_handshake_retransmitted();
      m_congestion->on_handshake_retransmitted();
    }
    m_retries = 0;
    if (m_listener) m_listener->on_established(this);
  }
  m_state_waiters.notify_all();
}

// Segment arrival, RFC 9293 §3.10.7.

void TcpConnection::segment_arrives(const TcpHeader& received, Bytes payload) {
  ++m_stats.segments_received;
  m_last_received = MonotonicClock::now();
  m_keepalive_probes = 0;
  if (m_options.keepalive) {
    // After a probe the timer waits for the probe interval; an idle time shorter than that must wake it.
    m_keepalive_deadline = m_last_received + *m_options.keepalive;
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
  if (m_state == TcpState::syn_received && header.has(tcp_flag::syn) && header.sequence == m_irs) {
    if (!header.has(tcp_flag::ack)) {
      send_segment(m_iss, tcp_flag::syn | tcp_flag::ack, 0);
      return;
    }
    header.flags &= static_cast<std::uint8_t>(~tcp_flag::syn);
    header.sequence = m_irs + 1;
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
    if (!header.has(tcp_flag::rst)) {
      schedule_ack(true);
      output();
    }
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

bool TcpConnection::acceptable(const TcpHeader& header, std::size_t length) const {
  // RFC 9293 §3.10.7.4, the four cases of the acceptability test.
  auto rcv_nxt = m_receive_buffer.next();
  auto rcv_wnd = static_cast<std::uint32_t>(std::min<std::size_t>(
      m_receive_buffer.allocated() ? m_receive_buffer.window() : m_options.receive_buffer, 0x7fffffff));
  auto seq = header.sequence;
  if (length == 0) return rcv_wnd == 0 ? seq == rcv_nxt : in_window(seq, rcv_nxt, rcv_wnd);
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
    if (!(m_snd_una < ack && ack <= m_snd_max)) {
      send_rst_for(header, length);
      return false;
    }
    if (!allocate_buffers()) {
      m_tcp.refuse_for_memory(m_remote);
      send_rst_for(header, length);
      connection_done();
      return false;
    }
    m_snd_wl1 = header.sequence;
    m_snd_wl2 = ack;
    m_snd_wnd = std::uint32_t{header.window} << m_snd_wscale;
    m_max_snd_wnd = std::max(m_max_snd_wnd, m_snd_wnd);
    m_snd_una = ack;
    m_retransmit_timer.stop();
    set_state(TcpState::established);
    if (m_state != TcpState::established) return false;
  }
  // RFC 5961 §5.2: ACKs too old or for data never sent.
  if (ack > m_snd_max) {
    bad_acks.increment();
    schedule_ack(true);
    output();
    return false;
  }
  if (ack < m_snd_una - std::max(m_max_snd_wnd, 1u)) {
    send_challenge_ack();
    return false;
  }
  bool advanced = ack > m_snd_una;
  if (advanced) on_new_ack(header);
  std::uint32_t newly_sacked = m_scoreboard ? m_scoreboard->update(m_snd_una, m_snd_max, header.sack()) : 0;
  // A duplicate ACK: RFC 6675 §2 with SACK (it newly SACKs data), else RFC 5681 §2.
  bool duplicate =
      !advanced && ack == m_snd_una && bytes_in_flight() > 0 && m_congestion &&
      (m_scoreboard ? newly_sacked > 0 : length == 0 && (std::uint32_t{header.window} << m_snd_wscale) == m_snd_wnd);
  if (duplicate) {
    bool lost = m_scoreboard && m_scoreboard->is_lost(m_snd_una);
    if (m_congestion->on_duplicate_ack(m_snd_una, m_snd_max, lost) == CongestionAction::retransmit_first_unacked) {
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
      if (m_released) m_time_wait_deadline = MonotonicClock::now() + fin_wait_2_timeout;
      wake_timer();
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
  auto acked = static_cast<std::uint32_t>(ack - m_snd_una);
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
  m_snd_una = ack;
  if (m_snd_nxt < m_snd_una) m_snd_nxt = m_snd_una;
  m_retries = 0;
  // RFC 6582 §3.2 step 3: a partial ACK retransmits the first unacknowledged segment.
  if (m_congestion && m_congestion->on_ack(m_snd_una, m_snd_max, acked) == CongestionAction::retransmit_first_unacked)
    retransmit_first_unacked();
  m_retransmit_timer.on_new_data_acked(now, m_rtt.rto(), bytes_in_flight() > 0);
  wake_timer();
  m_writers.notify_all();
  if (fin_acked()) free_finished_buffers();
}

void TcpConnection::update_window(const TcpHeader& header) {
  // RFC 9293 §3.10.7.4: take the window only from segments not older than the last update.
  if (!(m_snd_wl1 < header.sequence || (m_snd_wl1 == header.sequence && m_snd_wl2 <= header.acknowledgment))) return;
  m_snd_wnd = std::uint32_t{header.window} << m_snd_wscale;
  m_max_snd_wnd = std::max(m_max_snd_wnd, m_snd_wnd);
  m_snd_wl1 = header.sequence;
  m_snd_wl2 = header.acknowledgment;
  if (m_snd_wnd > 0) {
    // The window opened: the next zero-window episode probes from the start again.
    m_persist_deadline = far_future;
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
  auto advanced = m_receive_buffer.insert(header.sequence, payload);
  m_stats.bytes_received += advanced;
  if (advanced) m_readers.notify_all();
  // RFC 5681 §4.2 and RFC 1122 §4.2.3.2: ACK out-of-order data and gap fills at
  // once; otherwise at least every second full-sized segment, or after a delay.
  if (!in_order || had_gaps || advanced == 0) {
    schedule_ack(true);
    return;
  }
  if (payload.size() >= m_send_mss && ++m_unacked_segments >= 2) schedule_ack(true);
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

void TcpConnection::syn_sent_arrives(const TcpHeader& header, Bytes payload) {
  (void)payload;
  bool has_ack = header.has(tcp_flag::ack);
  if (has_ack && (header.acknowledgment <= m_iss || header.acknowledgment > m_snd_max)) {
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
  m_irs = header.sequence;
  m_receive_buffer.start(m_irs + 1);
  m_rcv_adv_edge = m_irs + 1; // nothing offered yet (RFC 9293 §3.8.6.2.2 measures from here)
  take_peer_options(header);
  if (m_timestamps && !header.timestamps) m_timestamps = false;
  m_snd_wl1 = header.sequence;
  m_snd_wl2 = header.acknowledgment;
  m_snd_wnd = header.window;
  m_max_snd_wnd = m_snd_wnd;
  if (has_ack) {
    m_snd_una = header.acknowledgment;
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
  send_segment(m_iss, tcp_flag::syn | tcp_flag::ack, 0);
}

// Output.

void TcpConnection::schedule_ack(bool immediately) {
  if (immediately) {
    m_ack_now = true;
    return;
  }
  if (m_delayed_ack_deadline == far_future) {
    m_delayed_ack_deadline = MonotonicClock::now() + delayed_ack_timeout;
    wake_timer();
  }
}

std::uint16_t TcpConnection::window_to_advertise() {
  auto rcv_nxt = m_receive_buffer.next();
  std::size_t free = m_receive_buffer.allocated() ? m_receive_buffer.window() : m_options.receive_buffer;
  std::size_t offered = m_rcv_adv_edge > rcv_nxt ? static_cast<std::uint32_t>(m_rcv_adv_edge - rcv_nxt) : 0;
  // RFC 9293 §3.8.6.2.2: move the right edge only by a useful amount, and never back.
  std::size_t step = std::min<std::size_t>(std::max<std::size_t>(m_receive_buffer.capacity() / 2, 1), m_send_mss);
  std::size_t window = free > offered && free - offered < step ? offered : free;
  window = std::max(window, offered);
  auto scaled = std::min<std::size_t>(window >> m_rcv_wscale, 0xffff);
  m_rcv_adv_edge = rcv_nxt + static_cast<std::uint32_t>(scaled << m_rcv_wscale);
  return static_cast<std::uint16_t>(scaled);
}

void TcpConnection::send_segment(SequenceNumber sequence, std::uint8_t flags, std::size_t data_length) {
  TcpHeader header;
  header.source_port = m_local.port;
  header.destination_port = m_remote.port;
  header.sequence = sequence;
  header.flags = flags;
  bool syn = flags & tcp_flag::syn;
  if (synchronized() || m_state == TcpState::syn_received || (flags & tcp_flag::ack)) {
    header.flags |= tcp_flag::ack;
    header.acknowledgment = m_receive_buffer.next();
  }
  if (syn) {
    bool active = m_state == TcpState::syn_sent;
    header.mss = m_tcp.mss_for_mtu();
    std::size_t free = m_options.receive_buffer;
    header.window = static_cast<std::uint16_t>(std::min<std::size_t>(free, 0xffff));
    if (active || m_window_scaling) header.window_scale = m_rcv_wscale;
    header.sack_permitted = active || m_sack_permitted;
    if (active || m_timestamps) header.timestamps = TcpTimestamps{timestamp_now(), active ? 0 : m_ts_recent};
    if (!(header.flags & tcp_flag::ack)) header.acknowledgment = SequenceNumber(0);
  } else {
    header.window = window_to_advertise();
    if (m_timestamps) header.timestamps = TcpTimestamps{timestamp_now(), m_ts_recent};
    if (m_sack_permitted && m_receive_buffer.has_gaps()) {
      // RFC 9293 §3.7.1: options come out of the MSS. The send MSS already
      // excludes timestamps; SACK takes 4 + 8n bytes of what the data leaves.
      auto room = m_send_mss > data_length ? m_send_mss - data_length : 0;
      auto fit = room >= 12 ? (room - 4) / 8 : 0;
      auto blocks = std::min<std::size_t>(fit, m_timestamps ? 3 : TcpHeader::maximum_sack_blocks);
      header.sack_block_count =
          static_cast<std::uint8_t>(m_receive_buffer.sack_blocks(header.sack_blocks.data(), blocks));
    }
  }
  auto header_length = header.header_length();
  auto packet = PacketBuffer::create(header_length + data_length);
  if (!packet) {
    no_memory.increment();
    return;
  }
  ByteWriter writer(packet->data());
  header.write(writer);
  if (!writer.finish()) return;
  if (data_length)
    m_send_buffer.copy_out(static_cast<std::uint32_t>(sequence - m_snd_una), packet->data().subspan(header_length));
  m_tcp.transmit_packet(m_local, m_remote, std::move(*packet));
  ++m_stats.segments_sent;
  if (sequence < m_snd_max && (data_length || (flags & (tcp_flag::syn | tcp_flag::fin)))) ++m_stats.retransmits;
  if (header.flags & tcp_flag::ack) {
    m_last_ack_sent = header.acknowledgment;
    m_ack_now = false;
    m_unacked_segments = 0;
    m_delayed_ack_deadline = far_future;
  }
}

void TcpConnection::send_challenge_ack() {
  challenge_acks.increment();
  send_ack();
}

void TcpConnection::send_rst_for(const TcpHeader& header, std::size_t length) {
  m_tcp.send_reset(m_local, m_remote, header, length);
}

std::uint32_t TcpConnection::retransmit(SequenceNumber sequence, std::uint32_t limit) {
  auto data_end = m_snd_una + static_cast<std::uint32_t>(m_send_buffer.size());
  auto data = sequence < data_end ? std::min(limit, static_cast<std::uint32_t>(data_end - sequence)) : 0u;
  bool fin = m_fin_sequence && sequence + data == *m_fin_sequence && *m_fin_sequence < m_snd_max && data < limit;
  if (data == 0 && !fin) return 0;
  send_segment(sequence, tcp_flag::ack | (fin ? tcp_flag::fin : 0), data);
  // Karn: a retransmitted segment gives no RTT sample.
  if (m_rtt_sequence && *m_rtt_sequence < sequence + data + 1) m_rtt_sequence.reset();
  return data + (fin ? 1 : 0);
}

void TcpConnection::retransmit_first_unacked() {
  auto covered = retransmit(m_snd_una, m_send_mss);
  // RFC 6675 §5 step 4.3: HighRxt is the last byte retransmitted.
  if (m_scoreboard) m_high_rxt = m_snd_una + (covered ? covered - 1 : 0);
}

void TcpConnection::output_in_sack_recovery() {
  while (true) {
    auto pipe = m_scoreboard->pipe(m_snd_una, m_snd_max, m_high_rxt);
    if (m_congestion->cwnd() < pipe + m_send_mss) return;
    auto in_window = static_cast<std::uint32_t>(m_snd_nxt - m_snd_una) < m_snd_wnd;
    auto next = m_scoreboard->next_seg(m_snd_una, m_high_rxt, unsent_bytes() > 0 && in_window);
    if (next.kind == NextSegment::Kind::retransmit) {
      auto covered = retransmit(next.seq, next.length);
      if (covered == 0) return;
      m_high_rxt = next.seq + (covered - 1);
      continue;
    }
    if (next.kind != NextSegment::Kind::new_data) return;
    auto usable = m_snd_wnd - static_cast<std::uint32_t>(m_snd_nxt - m_snd_una);
    auto length = std::min({unsent_bytes(), m_send_mss, usable});
    if (length == 0) return;
    bool fin = m_fin_sequence && m_snd_nxt + length == *m_fin_sequence;
    send_segment(m_snd_nxt, tcp_flag::ack | (fin ? tcp_flag::fin : 0), length);
    m_stats.bytes_sent += length;
    m_snd_nxt += length + (fin ? 1 : 0);
    m_snd_max = seq_max(m_snd_max, m_snd_nxt);
    m_retransmit_timer.on_data_sent(MonotonicClock::now(), m_rtt.rto());
    wake_timer();
  }
}

void TcpConnection::output() {
  if (m_scoreboard && m_congestion && m_congestion->in_recovery() && m_snd_nxt == m_snd_max) {
    auto sent_before = m_stats.segments_sent;
    output_in_sack_recovery();
    if (m_ack_now && m_stats.segments_sent == sent_before) send_ack();
    return;
  }
  bool can_send_data = m_state == TcpState::established || m_state == TcpState::close_wait ||
                       m_state == TcpState::fin_wait_1 || m_state == TcpState::closing || m_state == TcpState::last_ack;
  bool sent = false;
  while (can_send_data && m_congestion) {
    auto unsent = unsent_bytes();
    bool fin_pending = m_fin_sequence && m_snd_nxt == *m_fin_sequence;
    if (unsent == 0 && !fin_pending) break;
    auto now = MonotonicClock::now();
    auto in_flight = static_cast<std::uint32_t>(m_snd_nxt - m_snd_una);
    if (in_flight == 0) m_congestion->on_send(now, m_rtt.rto());
    auto window = std::min(m_snd_wnd, m_congestion->allowed_in_flight());
    auto usable = window > in_flight ? window - in_flight : 0;
    auto length = std::min({unsent, m_send_mss, usable});
    if (unsent > 0 && length == 0) {
      // Zero window with nothing in flight: probe it (RFC 9293 §3.8.6.1).
      if (m_snd_wnd == 0 && in_flight == 0 && m_persist_deadline == far_future) {
        m_persist_deadline = now + m_rtt.rto();
        wake_timer();
      }
      break;
    }
    bool last = length == unsent;
    if (unsent > 0 && length < m_send_mss) {
      // Nagle (RFC 9293 §3.7.4) and sender SWS avoidance (§3.8.6.2.1).
      bool nagle_holds = !m_options.nodelay && in_flight > 0 && !(last && m_fin_sequence);
      bool sws_holds = !last && length < m_max_snd_wnd / 2 && in_flight > 0;
      if (nagle_holds || sws_holds) break;
    }
    std::uint8_t flags = tcp_flag::ack;
    if (last) flags |= tcp_flag::psh;
    if (last && m_fin_sequence && m_snd_nxt + length == *m_fin_sequence) flags |= tcp_flag::fin;
    if (m_snd_nxt >= m_snd_max && !m_timestamps && !m_rtt_sequence && length) {
      m_rtt_sequence = m_snd_nxt;
      m_rtt_started = now;
    }
    send_segment(m_snd_nxt, flags, length);
    if (m_snd_nxt + length > m_snd_max)
      m_stats.bytes_sent += static_cast<std::uint32_t>((m_snd_nxt + length) - m_snd_max);
    m_snd_nxt += length + ((flags & tcp_flag::fin) ? 1 : 0);
    m_snd_max = seq_max(m_snd_max, m_snd_nxt);
    m_retransmit_timer.on_data_sent(now, m_rtt.rto());
    wake_timer();
    sent = true;
    if (flags & tcp_flag::fin) break;
  }
  if (!sent && m_ack_now && m_state != TcpState::closed && m_state != TcpState::syn_sent) send_ack();
}

// The application side.

Task<Result<void>> TcpConnection::wait_established(Instant deadline) {
  while (m_state == TcpState::syn_sent || m_state == TcpState::syn_received)
    CO_TRY(co_await m_state_waiters.wait(deadline));
  if (m_error) co_return fail(*m_error, "connection failed");
  if (m_state == TcpState::closed) co_return fail(Errc::closed, "connection closed");
  co_return Result<void>{};
}

Task<Result<std::size_t>> TcpConnection::read(MutableBytes out, Instant deadline) {
  while (true) {
    if (m_receive_buffer.readable() > 0) {
      auto before = m_receive_buffer.window();
      auto count = m_receive_buffer.read(out);
      // Tell the peer when reading opened the window by a useful amount.
      auto offered = m_rcv_adv_edge > m_receive_buffer.next()
                         ? static_cast<std::size_t>(m_rcv_adv_edge - m_receive_buffer.next())
                         : 0;
      auto step = std::min<std::size_t>(m_receive_buffer.capacity() / 2, m_send_mss);
      if (synchronized() && before < m_receive_buffer.window() && m_receive_buffer.window() >= offered + step) {
        schedule_ack(true);
        output();
      }
      if (m_receive_buffer.readable() == 0) free_finished_buffers();
      co_return count;
    }
    if (m_peer_fin_received) co_return std::size_t{0};
    if (m_error) co_return fail(*m_error, "connection reset");
    if (m_state == TcpState::closed) co_return std::size_t{0};
    CO_TRY(co_await m_readers.wait(deadline));
  }
}

Task<Result<void>> TcpConnection::write(Bytes data, Instant deadline) {
  while (true) {
    if (m_error) co_return fail(*m_error, "connection reset");
    if (m_fin_sequence || (m_state != TcpState::established && m_state != TcpState::close_wait))
      co_return fail(Errc::closed, "connection closed for writing");
    auto accepted = m_send_buffer.write(data);
    data = data.subspan(accepted);
    if (accepted) output();
    if (data.empty()) co_return Result<void>{};
    CO_TRY(co_await m_writers.wait(deadline));
  }
}

Result<void> TcpConnection::shutdown() {
  if (m_fin_sequence) return {};
  switch (m_state) {
  case TcpState::established: set_state(TcpState::fin_wait_1); break;
  case TcpState::close_wait: set_state(TcpState::last_ack); break;
  case TcpState::syn_sent:
  case TcpState::syn_received: abort(); return {};
  default: return fail(Errc::closed, "connection not open");
  }
  m_fin_sequence = m_snd_una + static_cast<std::uint32_t>(m_send_buffer.size());
  output();
  return {};
}

void TcpConnection::abort() {
  if (m_state == TcpState::closed) return;
  if (synchronized() || m_state == TcpState::syn_received) {
    TcpHeader rst;
    rst.source_port = m_local.port;
    rst.destination_port = m_remote.port;
    rst.sequence = m_snd_nxt;
    rst.flags = tcp_flag::rst;
    m_tcp.transmit_header(m_local, m_remote, rst);
  }
  if (!m_error) m_error = Errc::cancelled;
  connection_done();
}

void TcpConnection::release() {
  m_released = true;
  if (m_state == TcpState::closed) {
    free_finished_buffers();
    m_tcp.remove(this);
    return;
  }
  if (m_receive_buffer.readable() > 0) {
    abort();
    return;
  }
  if (!m_fin_sequence) (void)shutdown();
  if (m_state == TcpState::fin_wait_2) {
    m_time_wait_deadline = MonotonicClock::now() + fin_wait_2_timeout;
    wake_timer();
  }
}

void TcpConnection::set_keepalive(std::optional<Duration> idle) {
  m_options.keepalive = idle;
  m_keepalive_deadline = idle ? MonotonicClock::now() + *idle : far_future;
  wake_timer();
}

// Ending.

void TcpConnection::fail_with(Errc reason) {
  m_error = reason;
  connection_done();
}

void TcpConnection::enter_time_wait() {
  set_state(TcpState::time_wait);
  // No longer one of the listener's connections: TIME-WAIT does not count against its limit.
  if (m_listener) std::exchange(m_listener, nullptr)->on_closed(this);
  m_retransmit_timer.stop();
  m_persist_deadline = m_keepalive_deadline = far_future;
  m_time_wait_deadline = MonotonicClock::now() + m_tcp.time_wait();
  wake_timer();
  free_finished_buffers();
}

void TcpConnection::connection_done() {
  if (m_state == TcpState::closed) return;
  set_state(TcpState::closed);
  m_retransmit_timer.stop();
  m_delayed_ack_deadline = m_persist_deadline = m_keepalive_deadline = m_time_wait_deadline = far_future;
  if (m_listener) m_listener->on_closed(this);
  m_readers.notify_all();
  m_writers.notify_all();
  m_state_waiters.notify_all();
  free_finished_buffers();
  m_tcp.remove(this);
}

// Timers.

Instant TcpConnection::next_deadline() const {
  return std::min({m_retransmit_timer.deadline(), m_delayed_ack_deadline, m_persist_deadline, m_keepalive_deadline,
                   m_time_wait_deadline});
}

void TcpConnection::wake_timer() {
  if (next_deadline() < m_armed_deadline) m_timer_wake.notify_one();
}

Task<void> TcpConnection::run_timers() {
  while (true) {
    m_armed_deadline = next_deadline();
    (void)co_await m_timer_wake.wait(m_armed_deadline);
    m_armed_deadline = far_future;
    auto now = MonotonicClock::now();
    if (m_time_wait_deadline <= now) {
      m_time_wait_deadline = far_future;
      connection_done();
      continue;
    }
    if (m_retransmit_timer.expired(now)) on_retransmit_timeout();
    if (m_delayed_ack_deadline <= now) {
      m_delayed_ack_deadline = far_future;
      if (m_state != TcpState::closed) send_ack();
    }
    if (m_persist_deadline <= now) on_persist_timeout();
    if (m_keepalive_deadline <= now) on_keepalive_timeout();
  }
}

void TcpConnection::on_retransmit_timeout() {
  auto now = MonotonicClock::now();
  if (m_snd_una == m_snd_max) {
    m_retransmit_timer.stop();
    return;
  }
  retransmit_timeouts.increment();
  ++m_stats.timeouts;
  bool handshake = !synchronized();
  if (++m_retries > (handshake ? max_syn_retries : max_data_retries)) {
    connections_timed_out.increment();
    tcp_log.debug("{} -> {}: gave up after {} retransmissions", m_local, m_remote, m_retries - 1);
    if (!handshake) abort();
    m_error = Errc::timed_out;
    connection_done();
    return;
  }
  m_rtt.backoff();
  m_rtt_sequence.reset();
  m_retransmit_timer.restart(now, m_rtt.rto());
  if (m_state == TcpState::syn_sent) {
    send_segment(m_iss, tcp_flag::syn, 0);
    return;
  }
  if (m_state == TcpState::syn_received) {
    send_segment(m_iss, tcp_flag::syn | tcp_flag::ack, 0);
    return;
  }
  // RFC 5681 §3.1 / RFC 6298 §5.4: collapse the window, go back to SND.UNA.
  if (m_congestion) m_congestion->on_retransmit_timeout(m_snd_una, m_snd_max);
  if (m_scoreboard) m_scoreboard->clear();
  m_snd_nxt = m_snd_una + retransmit(m_snd_una, m_send_mss);
}

void TcpConnection::on_persist_timeout() {
  m_persist_deadline = far_future;
  if (m_snd_wnd != 0 || unsent_bytes() == 0 || !synchronized()) return;
  // A window probe: an old sequence number makes the peer answer with its window.
  send_segment(m_snd_una - 1, tcp_flag::ack, 0);
  m_persist_backoff =
      std::min<Duration>(m_persist_backoff == Duration{} ? m_rtt.rto() : m_persist_backoff * 2, max_persist_interval);
  m_persist_deadline = MonotonicClock::now() + m_persist_backoff;
}

void TcpConnection::on_keepalive_timeout() {
  m_keepalive_deadline = far_future;
  if (!m_options.keepalive || !synchronized() || m_state == TcpState::time_wait) return;
  if (m_keepalive_probes >= keepalive_max_probes) {
    m_error = Errc::timed_out;
    abort();
    return;
  }
  ++m_keepalive_probes;
  send_segment(m_snd_una - 1, tcp_flag::ack, 0);
  m_keepalive_deadline = MonotonicClock::now() + keepalive_interval;
}

} // namespace morgana::net
