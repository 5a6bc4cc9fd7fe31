#include "morgana/net/tcp_connection.h"

#include <algorithm>
#include <utility>

#include "morgana/core/log.h"
#include "morgana/net/tcp.h"

namespace morgana::net {

log::Source tcp_log{"tcp"};

namespace {

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
  m_rcv.wscale = window_shift_for(m_options.receive_buffer);
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
  auto data_end = m_snd.una + static_cast<std::uint32_t>(m_send_buffer.size());
  return data_end > m_snd.nxt ? static_cast<std::uint32_t>(data_end - m_snd.nxt) : 0;
}

// Opening.

void TcpConnection::open_active() {
  start_send_sequence(m_tcp.initial_sequence(m_local, m_remote));
  set_state(TcpState::syn_sent);
  send_first_syn(tcp_flag::syn);
}

void TcpConnection::open_passive(const TcpHeader& syn, TcpListener& listener, SequenceNumber iss) {
  m_listener = &listener;
  m_listener->on_syn_received(this);
  m_released = true; // the listener's until accepted
  start_receive_sequence(syn.sequence);
  take_peer_options(syn);
  m_snd.wnd = syn.window; // never scaled in a SYN (RFC 7323 §2.2)
  start_send_sequence(iss);
  set_state(TcpState::syn_received);
  send_first_syn(tcp_flag::syn | tcp_flag::ack);
}

void TcpConnection::open_from_cookie(const TcpHeader& ack, std::uint16_t mss, TcpListener& listener) {
  m_listener = &listener;
  m_released = true; // the listener's until accepted
  start_receive_sequence(ack.sequence - 1);
  m_rcv.wscale = 0;
  m_send_mss = std::min<std::uint32_t>(mss, m_tcp.mss_for_mtu());
  start_send_sequence(ack.acknowledgment - 1);
  m_snd.nxt = m_snd.max = m_snd.iss + 1; // the SYN-ACK went out with the cookie
  m_state = TcpState::syn_received;
  start_timers();
}

void TcpConnection::start_send_sequence(SequenceNumber iss) {
  m_snd.iss = iss;
  m_ts_offset = m_snd.iss.value();
  m_snd.una = m_snd.nxt = m_snd.max = m_snd.iss;
}

void TcpConnection::start_receive_sequence(SequenceNumber irs) {
  m_rcv.irs = irs;
  m_receive_buffer.start(m_rcv.irs + 1);
  m_rcv.adv_edge = m_rcv.irs + 1; // nothing offered yet (RFC 9293 §3.8.6.2.2 measures from here; a SYN-ACK moves it)
}

void TcpConnection::send_first_syn(std::uint8_t flags) {
  send_segment(m_snd.iss, flags, 0);
  m_snd.nxt = m_snd.max = m_snd.iss + 1; // after sending: the first SYN is no retransmission
  m_retransmit_timer.on_data_sent(MonotonicClock::now(), m_rtt.rto());
  start_timers();
}

void TcpConnection::take_peer_options(const TcpHeader& syn) {
  // A passive side offers an option only when the SYN did (RFC 7323 §1.3, RFC 2018 §2).
  m_window_scaling = syn.window_scale.has_value();
  m_snd.wscale = m_window_scaling ? *syn.window_scale : 0;
  if (!m_window_scaling) m_rcv.wscale = 0;
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
  m_options = size_for_memory(m_options, memory_stats()).value_or(smallest);
  if (!m_send_buffer.allocated()) TRY(m_send_buffer.allocate(m_options.send_buffer));
  if (!m_receive_buffer.allocated()) TRY(m_receive_buffer.allocate(m_options.receive_buffer));
  if (m_sack_permitted && !m_rack.allocated()) {
    // Room for every segment the send buffer can hold in flight, and for the
    // splits retransmissions make; without it RACK is off (DupThresh decides).
    auto records = 2 * (m_options.send_buffer / m_send_mss) + 16;
    if (!m_rack.allocate(records)) tcp_log.debug("{} -> {}: no memory for RACK", m_local, m_remote);
  }
  return {};
}

void TcpConnection::free_finished_buffers() {
  bool sending_done = m_state == TcpState::closed || fin_acked();
  if (sending_done) {
    // Writes fail from here on, and everything sent was acknowledged (or never will be).
    m_send_buffer = TcpSendQueue{};
    m_scoreboard.reset();
    m_rack = Rack{};
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
    config.largest_send = m_tcp.max_send_payload(m_send_mss);
    config.iss = m_snd.iss;
    config.loss_recovery = m_sack_permitted ? LossRecovery::sack : LossRecovery::newreno;
    m_congestion.emplace(config);
    if (m_sack_permitted) m_scoreboard.emplace(m_send_mss);
    m_congestion->set_rack(m_rack.tracking());
    if (m_retries > 0) {
      m_rtt.on_handshake_retransmitted();
      m_congestion->on_handshake_retransmitted();
    }
    m_retries = 0;
    if (m_listener) m_listener->on_established(this);
  }
  m_state_waiters.notify_all();
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
  m_deadlines.persist = m_deadlines.keepalive = far_future;
  m_deadlines.time_wait = MonotonicClock::now() + m_tcp.time_wait();
  wake_timer();
  free_finished_buffers();
}

void TcpConnection::connection_done() {
  if (m_state == TcpState::closed) return;
  set_state(TcpState::closed);
  m_retransmit_timer.stop();
  m_deadlines = {};
  if (m_listener) m_listener->on_closed(this);
  m_readers.notify_all();
  m_writers.notify_all();
  m_state_waiters.notify_all();
  free_finished_buffers();
  m_tcp.remove(this);
}

} // namespace morgana::net
