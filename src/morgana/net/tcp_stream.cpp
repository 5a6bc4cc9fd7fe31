#include "morgana/net/tcp_stream.h"

#include <algorithm>

#include "morgana/net/tcp.h"

namespace morgana::net {

// The application's side of a connection: what TcpStream calls.

TcpStream::~TcpStream() { m_connection->release(); }

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
      auto offered = offered_window();
      auto step = std::min<std::size_t>(m_receive_buffer.capacity() / 2, m_send_mss);
      // Only what the window field can carry counts: without window scaling
      // (slirp) 64 KiB are offered already, and an ACK per read would repeat it.
      auto can_offer = std::min(m_receive_buffer.window(), std::size_t{0xffff} << m_rcv.wscale);
      if (synchronized() && before < m_receive_buffer.window() && can_offer >= offered + step) {
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

Task<Result<void>> TcpConnection::write(Bytes head, SharedBytes body, Instant deadline, WriteEnd end) {
  while (true) {
    if (m_error) co_return fail(*m_error, "connection reset");
    if (m_fin_sequence || (m_state != TcpState::established && m_state != TcpState::close_wait))
      co_return fail(Errc::closed, "connection closed for writing");
    auto copied = m_send_buffer.write(head);
    head = head.subspan(copied);
    std::size_t referenced = 0;
    if (head.empty()) {
      referenced = m_send_buffer.write(body);
      body.data = body.data.subspan(referenced);
    }
    bool queued = head.empty() && body.data.empty();
    // Before output, so that the last segment carries the FIN.
    bool fin = queued && end == WriteEnd::fin;
    if (fin) queue_fin();
    if (copied || referenced || fin) output();
    if (queued) co_return Result<void>{};
    CO_TRY(co_await m_writers.wait(deadline));
  }
}

Result<void> TcpConnection::shutdown() {
  if (m_fin_sequence) return {};
  switch (m_state) {
  case TcpState::established:
  case TcpState::close_wait: queue_fin(); break;
  case TcpState::syn_sent:
  case TcpState::syn_received: abort(); return {};
  default: return fail(Errc::closed, "connection not open");
  }
  output();
  return {};
}

void TcpConnection::queue_fin() {
  set_state(m_state == TcpState::established ? TcpState::fin_wait_1 : TcpState::last_ack);
  m_fin_sequence = m_snd.una + static_cast<std::uint32_t>(m_send_buffer.size());
}

void TcpConnection::abort() {
  if (m_state == TcpState::closed) return;
  if (synchronized() || m_state == TcpState::syn_received) {
    TcpHeader rst;
    rst.source_port = m_local.port;
    rst.destination_port = m_remote.port;
    rst.sequence = m_snd.max; // as send_ack(): SND.NXT may have been rewound
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
  if (m_state == TcpState::fin_wait_2) start_fin_wait_2_timeout();
}

void TcpConnection::set_keepalive(std::optional<Duration> idle) {
  m_options.keepalive = idle;
  m_deadlines.keepalive = idle ? MonotonicClock::now() + *idle : far_future;
  wake_timer();
}

} // namespace morgana::net
