#include "morgana/net/tcp_connection.h"

#include <algorithm>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/net/tcp.h"

namespace morgana::net {

// The timers of one connection, served by one coroutine: retransmission (RFC
// 6298), delayed ACK, persist (zero-window probes), keep-alive and TIME-WAIT.

namespace {

Counter retransmit_timeouts{"tcp.retransmit_timeouts", "retransmission timer expiries"};
Counter connections_timed_out{"tcp.connections_timed_out", "connections given up after too many retransmissions"};

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

} // namespace

Instant TcpConnection::next_deadline() const {
  return std::min({m_retransmit_timer.deadline(), m_deadlines.delayed_ack, m_deadlines.persist, m_deadlines.keepalive,
                   m_deadlines.time_wait, m_deadlines.reorder, m_deadlines.loss_probe});
}

void TcpConnection::wake_timer() {
  if (next_deadline() < m_armed_deadline) m_timer_wake.notify_one();
}

void TcpConnection::start_timers() {
  m_timer_task = run_timers();
  m_timer_task.start();
}

Task<void> TcpConnection::run_timers() {
  while (true) {
    m_armed_deadline = next_deadline();
    (void)co_await m_timer_wake.wait(m_armed_deadline);
    m_armed_deadline = far_future;
    auto now = MonotonicClock::now();
    if (m_deadlines.time_wait <= now) {
      m_deadlines.time_wait = far_future;
      connection_done();
      continue;
    }
    if (m_retransmit_timer.expired(now)) on_retransmit_timeout();
    if (m_deadlines.reorder <= now) on_reorder_timeout();
    if (m_deadlines.loss_probe <= now) on_loss_probe_timeout();
    if (m_deadlines.delayed_ack <= now) {
      m_deadlines.delayed_ack = far_future;
      if (m_state != TcpState::closed) send_ack();
    }
    if (m_deadlines.persist <= now) on_persist_timeout();
    if (m_deadlines.keepalive <= now) on_keepalive_timeout();
  }
}

void TcpConnection::schedule_ack(bool immediately) {
  if (immediately) {
    m_ack_now = true;
    return;
  }
  if (m_deadlines.delayed_ack == far_future) {
    m_deadlines.delayed_ack = MonotonicClock::now() + delayed_ack_timeout;
    wake_timer();
  }
}

void TcpConnection::start_fin_wait_2_timeout() {
  m_deadlines.time_wait = MonotonicClock::now() + fin_wait_2_timeout;
  wake_timer();
}

void TcpConnection::on_retransmit_timeout() {
  auto now = MonotonicClock::now();
  if (m_snd.una == m_snd.max) {
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
    send_segment(m_snd.iss, tcp_flag::syn, 0);
    return;
  }
  if (m_state == TcpState::syn_received) {
    send_segment(m_snd.iss, tcp_flag::syn | tcp_flag::ack, 0);
    return;
  }
  // RFC 5681 §3.1 / RFC 6298 §5.4: collapse the window, go back to SND.UNA.
  if (m_congestion) m_congestion->on_retransmit_timeout(m_snd.una, m_snd.max);
  if (m_scoreboard) m_scoreboard->clear();
  reset_loss_detection_on_timeout();
  m_snd.nxt = m_snd.una + retransmit(m_snd.una, m_send_mss);
}

void TcpConnection::on_persist_timeout() {
  m_deadlines.persist = far_future;
  if (m_snd.wnd != 0 || unsent_bytes() == 0 || !synchronized()) return;
  // A window probe: an old sequence number makes the peer answer with its window.
  send_segment(m_snd.una - 1, tcp_flag::ack, 0);
  m_persist_backoff =
      std::min<Duration>(m_persist_backoff == Duration{} ? m_rtt.rto() : m_persist_backoff * 2, max_persist_interval);
  m_deadlines.persist = MonotonicClock::now() + m_persist_backoff;
}

void TcpConnection::on_keepalive_timeout() {
  m_deadlines.keepalive = far_future;
  if (!m_options.keepalive || !synchronized() || m_state == TcpState::time_wait) return;
  if (m_keepalive_probes >= keepalive_max_probes) {
    m_error = Errc::timed_out;
    abort();
    return;
  }
  ++m_keepalive_probes;
  send_segment(m_snd.una - 1, tcp_flag::ack, 0);
  m_deadlines.keepalive = MonotonicClock::now() + keepalive_interval;
}

} // namespace morgana::net
