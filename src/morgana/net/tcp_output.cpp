#include "morgana/net/tcp_connection.h"

#include <algorithm>
#include <utility>

#include "morgana/core/counter.h"
#include "morgana/net/tcp.h"

namespace morgana::net {

// Output: what may be sent now (Nagle, sender SWS avoidance, the send and
// congestion windows), SACK-based loss recovery (RFC 6675), retransmission and
// the window we advertise.

namespace {

Counter no_memory{"tcp.no_memory", "segments not sent for want of memory"};
Counter tso_segments{"tcp.tso_segments_sent", "segments sent inside TSO frames, for the device to cut"};

} // namespace

void TcpConnection::output() {
  if (m_scoreboard && m_congestion && m_congestion->in_recovery() && m_snd.nxt == m_snd.max) {
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
    bool fin_pending = m_fin_sequence && m_snd.nxt == *m_fin_sequence;
    if (unsent == 0 && !fin_pending) break;
    auto now = MonotonicClock::now();
    auto in_flight = static_cast<std::uint32_t>(m_snd.nxt - m_snd.una);
    if (in_flight == 0) m_congestion->on_send(now, m_rtt.rto());
    auto window = std::min(m_snd.wnd, m_congestion->allowed_in_flight());
    auto usable = window > in_flight ? window - in_flight : 0;
    auto length = std::min({unsent, m_tcp.max_send_payload(m_send_mss), usable});
    if (unsent > 0 && length == 0) {
      // Zero window with nothing in flight: probe it (RFC 9293 §3.8.6.1).
      if (m_snd.wnd == 0 && in_flight == 0 && m_deadlines.persist == far_future) {
        m_deadlines.persist = now + m_rtt.rto();
        wake_timer();
      }
      break;
    }
    bool last = length == unsent;
    if (length > m_send_mss && length % m_send_mss != 0 && !(last && (m_options.nodelay || m_fin_sequence))) {
      // A TSO frame holds whole segments; the short tail goes on its own, by
      // the rules below, as it would after that many single segments.
      length -= length % m_send_mss;
      last = false;
    }
    if (unsent > 0 && length < m_send_mss) {
      // Nagle (RFC 9293 §3.7.4) and sender SWS avoidance (§3.8.6.2.1).
      bool nagle_holds = !m_options.nodelay && in_flight > 0 && !(last && m_fin_sequence);
      bool sws_holds = !last && length < m_snd.max_wnd / 2 && in_flight > 0;
      if (nagle_holds || sws_holds) break;
    }
    std::uint8_t flags = tcp_flag::ack;
    if (last) flags |= tcp_flag::psh;
    if (last && m_fin_sequence && m_snd.nxt + length == *m_fin_sequence) flags |= tcp_flag::fin;
    if (m_snd.nxt >= m_snd.max && !m_timestamps && !m_rtt_sequence && length) {
      m_rtt_sequence = m_snd.nxt;
      m_rtt_started = now;
    }
    send_segment(m_snd.nxt, flags, length);
    if (m_snd.nxt + length > m_snd.max)
      m_stats.bytes_sent += static_cast<std::uint32_t>((m_snd.nxt + length) - m_snd.max);
    m_snd.nxt += length + ((flags & tcp_flag::fin) ? 1 : 0);
    m_snd.max = seq_max(m_snd.max, m_snd.nxt);
    m_retransmit_timer.on_data_sent(now, m_rtt.rto());
    wake_timer();
    sent = true;
    if (flags & tcp_flag::fin) break;
  }
  if (!sent && m_ack_now && m_state != TcpState::closed && m_state != TcpState::syn_sent) send_ack();
}

void TcpConnection::output_in_sack_recovery() {
  while (true) {
    auto pipe = m_scoreboard->pipe(m_snd.una, m_snd.max, m_high_rxt);
    if (m_congestion->cwnd() < pipe + m_send_mss) return;
    auto in_window = static_cast<std::uint32_t>(m_snd.nxt - m_snd.una) < m_snd.wnd;
    auto next = m_scoreboard->next_seg(m_snd.una, m_high_rxt, unsent_bytes() > 0 && in_window);
    if (next.kind == NextSegment::Kind::retransmit) {
      auto covered = retransmit(next.seq, next.length);
      if (covered == 0) return;
      m_high_rxt = next.seq + (covered - 1);
      continue;
    }
    if (next.kind != NextSegment::Kind::new_data) return;
    auto usable = m_snd.wnd - static_cast<std::uint32_t>(m_snd.nxt - m_snd.una);
    auto length = std::min({unsent_bytes(), m_send_mss, usable});
    if (length == 0) return;
    bool fin = m_fin_sequence && m_snd.nxt + length == *m_fin_sequence;
    send_segment(m_snd.nxt, tcp_flag::ack | (fin ? tcp_flag::fin : 0), length);
    m_stats.bytes_sent += length;
    m_snd.nxt += length + (fin ? 1 : 0);
    m_snd.max = seq_max(m_snd.max, m_snd.nxt);
    m_retransmit_timer.on_data_sent(MonotonicClock::now(), m_rtt.rto());
    wake_timer();
  }
}

std::uint32_t TcpConnection::retransmit(SequenceNumber sequence, std::uint32_t limit) {
  // Never past SND.MAX: bytes beyond it are unsent, and the peer's ACK for them
  // would be taken for an ACK of data never sent (RFC 5961 §5.2) and dropped.
  if (!(sequence < m_snd.max)) return 0;
  limit = std::min(limit, static_cast<std::uint32_t>(m_snd.max - sequence));
  auto data_end = m_snd.una + static_cast<std::uint32_t>(m_send_buffer.size());
  auto data = sequence < data_end ? std::min(limit, static_cast<std::uint32_t>(data_end - sequence)) : 0u;
  bool fin = m_fin_sequence && sequence + data == *m_fin_sequence && *m_fin_sequence < m_snd.max && data < limit;
  if (data == 0 && !fin) return 0;
  send_segment(sequence, tcp_flag::ack | (fin ? tcp_flag::fin : 0), data);
  // Karn: a retransmitted segment gives no RTT sample.
  if (m_rtt_sequence && *m_rtt_sequence < sequence + data + 1) m_rtt_sequence.reset();
  return data + (fin ? 1 : 0);
}

void TcpConnection::retransmit_first_unacked() {
  auto covered = retransmit(m_snd.una, m_send_mss);
  // RFC 6675 §5 step 4.3: HighRxt is the last byte retransmitted.
  if (m_scoreboard) m_high_rxt = m_snd.una + (covered ? covered - 1 : 0);
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
    // A SYN-ACK offers that window (never scaled, RFC 7323 §2.2): reads measure
    // window updates from its edge, not from IRS + 1 (which would send one at
    // the first read, before the response could carry the ACK).
    if (header.flags & tcp_flag::ack) m_rcv.adv_edge = header.acknowledgment + header.window;
    if (active || m_window_scaling) header.window_scale = m_rcv.wscale;
    header.sack_permitted = active || m_sack_permitted;
    if (active || m_timestamps) header.timestamps = TcpTimestamps{timestamp_now(), active ? 0 : m_ts_recent};
    if (!(header.flags & tcp_flag::ack)) header.acknowledgment = SequenceNumber(0);
  } else {
    header.window = window_to_advertise();
    if (m_timestamps) header.timestamps = TcpTimestamps{timestamp_now(), m_ts_recent};
    if (m_sack_permitted && (m_receive_buffer.has_gaps() || m_dsack_to_send)) {
      // RFC 9293 §3.7.1: options come out of the MSS. The send MSS already
      // excludes timestamps; SACK takes 4 + 8n bytes of what the data leaves.
      auto room = m_send_mss > data_length ? m_send_mss - data_length : 0;
      auto fit = room >= 12 ? (room - 4) / 8 : 0;
      auto blocks = std::min<std::size_t>(fit, m_timestamps ? 3 : TcpHeader::maximum_sack_blocks);
      header.sack_block_count = static_cast<std::uint8_t>(sack_blocks_to_send(header.sack_blocks.data(), blocks));
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
    m_send_buffer.copy_out(static_cast<std::uint32_t>(sequence - m_snd.una), packet->data().subspan(header_length));
  if (data_length > m_send_mss) {
    // Only output() builds these, with TSO, and without SACK blocks (no room
    // left), so every cut segment's header is this one and m_send_mss fits.
    packet->offload().segment_size = static_cast<std::uint16_t>(m_send_mss);
    tso_segments.increment((data_length + m_send_mss - 1) / m_send_mss);
  }
  m_tcp.transmit_packet(m_local, m_remote, std::move(*packet));
  ++m_stats.segments_sent;
  if (sequence < m_snd.max && (data_length || (flags & (tcp_flag::syn | tcp_flag::fin)))) ++m_stats.retransmits;
  if (!syn && (data_length || (flags & tcp_flag::fin)))
    on_data_sent(sequence, static_cast<std::uint32_t>(data_length) + ((flags & tcp_flag::fin) ? 1 : 0));
  if (header.flags & tcp_flag::ack) {
    m_last_ack_sent = header.acknowledgment;
    m_ack_now = false;
    m_unacked_segments = 0;
    m_deadlines.delayed_ack = far_future;
  }
}

std::size_t TcpConnection::receive_space() const {
  return m_receive_buffer.allocated() ? m_receive_buffer.window() : m_options.receive_buffer;
}

std::size_t TcpConnection::offered_window() const {
  auto rcv_nxt = m_receive_buffer.next();
  return m_rcv.adv_edge > rcv_nxt ? static_cast<std::size_t>(m_rcv.adv_edge - rcv_nxt) : 0;
}

std::uint16_t TcpConnection::window_to_advertise() {
  auto rcv_nxt = m_receive_buffer.next();
  std::size_t free = receive_space();
  std::size_t offered = offered_window();
  // RFC 9293 §3.8.6.2.2: move the right edge only by a useful amount, and never back.
  std::size_t step = std::min<std::size_t>(std::max<std::size_t>(m_receive_buffer.capacity() / 2, 1), m_send_mss);
  std::size_t window = free > offered && free - offered < step ? offered : free;
  window = std::max(window, offered);
  // Window scaling counts in units of 2^wscale: round up where rounding down
  // would move the offered edge back (as Linux's tcp_select_window). The few
  // bytes past the free space this may offer are trimmed on arrival.
  auto scaled = window >> m_rcv.wscale;
  if ((scaled << m_rcv.wscale) < offered) ++scaled;
  scaled = std::min<std::size_t>(scaled, 0xffff);
  m_rcv.adv_edge = rcv_nxt + static_cast<std::uint32_t>(scaled << m_rcv.wscale);
  return static_cast<std::uint16_t>(scaled);
}

} // namespace morgana::net
