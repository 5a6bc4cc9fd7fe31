#include "morgana/net/tcp.h"

#include <algorithm>
#include <new>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/random.h"
#include "morgana/net/ethernet.h"
#include "morgana/net/stack.h"
#include "morgana/net/tcp_memory.h"
#include "morgana/net/transport_checksum.h"

namespace morgana::net {
namespace {

Counter segments_received{"tcp.segments_received", "TCP segments received"};
Counter malformed{"tcp.malformed", "TCP segments with a bad header or options"};
Counter bad_checksum{"tcp.bad_checksum", "TCP segments whose checksum does not verify"};
Counter not_unicast{"tcp.not_unicast", "TCP segments sent to a broadcast address"};
Counter closed_port{"tcp.closed_port", "segments for no connection or listener, answered with RST"};
Counter listen_dropped{"tcp.listen_dropped", "segments to a listener that were neither SYN nor answerable"};
Counter cookies_sent{"tcp.syn_cookies_sent", "SYN-ACKs sent statelessly with a SYN cookie (backlog full)"};
Counter cookies_accepted{"tcp.syn_cookies_accepted", "connections restored from a valid SYN cookie"};
Counter syn_dropped{"tcp.syn_dropped", "SYNs dropped: connection limit reached or accept queue full"};
Counter connections_opened{"tcp.connections_opened", "connections created (active or passive)"};
Counter connections_freed{"tcp.connections_freed", "connections whose state was freed"};
Counter time_wait_reopened{"tcp.time_wait_reopened",
                           "connections in TIME-WAIT ended by a new SYN for the same ports (RFC 6191)"};

constexpr std::uint16_t first_ephemeral = 49152;

} // namespace

Tcp::Tcp(Stack& stack, TcpConfig config) : m_stack(stack), m_config(config) {
  if (!random::fill(std::as_writable_bytes(std::span(m_isn_key))))
    tcp_log.warn("no entropy: initial sequence numbers are predictable");
  m_reaper = reap();
  m_reaper.start();
}

Tcp::~Tcp() {
  m_connections.clear();
  m_owned.clear();
}

Duration Tcp::time_wait() const { return 2 * m_config.msl; }

std::uint16_t Tcp::mss_for_mtu() const {
  return static_cast<std::uint16_t>(m_stack.mtu() - Ipv4Header::minimum_size - TcpHeader::minimum_size);
}

std::uint32_t Tcp::max_send_payload(std::uint32_t send_mss) const {
  if (!m_stack.offloads().tso4) return send_mss;
  // Whole segments, the largest TSO frame's worth with the longest TCP header.
  constexpr auto room = static_cast<std::uint32_t>(max_tso_frame - EthernetHeader::size - Ipv4Header::minimum_size -
                                                   TcpHeader::maximum_size);
  return std::max(room / send_mss, std::uint32_t{1}) * send_mss;
}

std::uint64_t Tcp::key(std::uint16_t local_port, Endpoint remote) {
  return (std::uint64_t{remote.address.value} << 32) | (std::uint64_t{remote.port} << 16) | local_port;
}

TcpConnection* Tcp::find(std::uint16_t local_port, Endpoint remote) const {
  auto it = m_connections.find(key(local_port, remote));
  return it == m_connections.end() ? nullptr : it->second;
}

TcpListener* Tcp::find_listener(std::uint16_t port) const {
  for (auto* listener : m_listeners)
    if (listener->port() == port) return listener;
  return nullptr;
}

std::size_t Tcp::count_in_state(TcpState state) const {
  return static_cast<std::size_t>(
      std::count_if(m_owned.begin(), m_owned.end(), [&](const auto& owned) { return owned->state() == state; }));
}

std::size_t Tcp::buffer_bytes() const {
  std::size_t total = 0;
  for (const auto& owned : m_owned) total += owned->buffer_bytes();
  return total;
}

SequenceNumber Tcp::initial_sequence(Endpoint local, Endpoint remote) {
  // RFC 6528: ISN = M + F(local, remote, secret), M a clock ticking every 4 µs.
  const std::uint32_t nonce[3] = {local.address.value, (std::uint32_t{local.port} << 16) | remote.port,
                                  remote.address.value};
  std::uint8_t block[64];
  random::chacha20_block(m_isn_key, 0, nonce, block);
  std::uint32_t hash = load_be32(reinterpret_cast<const std::byte*>(block));
  auto ticks = MonotonicClock::now().time_since_epoch().count() / 4000;
  return SequenceNumber(hash + static_cast<std::uint32_t>(ticks));
}

TcpConnection* Tcp::create_connection(Endpoint local, Endpoint remote, const TcpConnectionOptions& wanted) {
  auto sized = size_for_memory(wanted, memory_stats());
  auto owned = sized ? try_make_unique<TcpConnection>("TCP connection", *this, local, remote, *sized)
                     : fail(Errc::no_memory, "TCP connection");
  if (!owned) {
    m_memory_refusals.refused(remote);
    return nullptr;
  }
  auto* connection = owned->get();
  m_owned.push_back(std::move(*owned));
  m_connections[key(local.port, remote)] = connection;
  connections_opened.increment();
  return connection;
}

Result<std::unique_ptr<TcpListener>> Tcp::listen(std::uint16_t port, TcpListenOptions options) {
  if (port == 0) return fail(Errc::invalid_argument, "TCP port 0");
  if (find_listener(port)) return fail(Errc::in_use, "TCP port already listening");
  auto listener = TRY(try_make_unique<TcpListener>("TCP listener", *this, port, options));
  m_listeners.push_back(listener.get());
  return listener;
}

Result<std::uint16_t> Tcp::ephemeral_port(Endpoint remote) {
  for (int tries = 0; tries <= 65535 - first_ephemeral; ++tries) {
    auto candidate = m_next_ephemeral;
    m_next_ephemeral = m_next_ephemeral == 65535 ? first_ephemeral : static_cast<std::uint16_t>(m_next_ephemeral + 1);
    if (!find(candidate, remote) && !find_listener(candidate)) return candidate;
  }
  return fail(Errc::limit_reached, "no free ephemeral TCP port");
}

Task<Result<std::unique_ptr<TcpStream>>> Tcp::connect(Endpoint remote, Instant deadline, TcpConnectionOptions options) {
  auto local_address = m_stack.config().address.address;
  if (local_address.is_any()) co_return fail(Errc::unreachable, "no IPv4 address configured");
  if (remote.address.is_broadcast() || remote.address.is_multicast() || remote.port == 0)
    co_return fail(Errc::invalid_argument, "not a unicast destination");
  auto port = CO_TRY(ephemeral_port(remote));
  auto* connection = create_connection({local_address, port}, remote, options);
  if (!connection) co_return fail(Errc::no_memory, "TCP connection");
  connection->open_active();
  auto established = co_await connection->wait_established(deadline);
  if (!established) {
    connection->abort();
    connection->release();
    co_return std::unexpected(established.error());
  }
  auto stream = try_make_unique<TcpStream>("TCP stream", *connection);
  if (!stream) {
    connection->abort();
    connection->release();
    co_return std::unexpected(stream.error());
  }
  co_return stream;
}

void Tcp::receive(const Ipv4Header& ip, PacketBuffer packet) {
  segments_received.increment();
  if (m_stack.ipv4().is_broadcast(ip.destination)) {
    not_unicast.increment();
    return;
  }
  if (!checked_by_device(packet) && tcp_checksum(ip.source, ip.destination, packet.data()) != 0) {
    bad_checksum.increment();
    return;
  }
  ByteReader reader(packet.data());
  auto parsed = TcpHeader::parse(reader);
  if (!parsed) {
    malformed.increment();
    return;
  }
  const auto& header = *parsed;
  auto payload = reader.rest();
  Endpoint remote{ip.source, header.source_port};
  Endpoint local{ip.destination, header.destination_port};
  if (auto* connection = find(header.destination_port, remote)) {
    if (connection->state() == TcpState::time_wait && reopen_time_wait(*connection, local, remote, header)) return;
    connection->segment_arrives(header, payload);
    return;
  }
  auto length = payload.size() + (header.has(tcp_flag::syn) ? 1 : 0) + (header.has(tcp_flag::fin) ? 1 : 0);
  auto* listener = find_listener(header.destination_port);
  if (!listener) {
    // RFC 9293 §3.10.7.1: CLOSED answers everything but RST with RST.
    if (!header.has(tcp_flag::rst)) {
      closed_port.increment();
      send_reset(local, remote, header, length);
    }
    return;
  }
  // RFC 9293 §3.10.7.2: LISTEN.
  if (header.has(tcp_flag::rst)) return;
  if (header.has(tcp_flag::ack)) {
    // The last ACK of a handshake answered with a SYN cookie, or else an error.
    if (!header.has(tcp_flag::syn) && accept_cookie(*listener, local, remote, header, payload)) return;
    send_reset(local, remote, header, length);
    return;
  }
  if (!header.has(tcp_flag::syn)) {
    listen_dropped.increment();
    return;
  }
  accept_syn(*listener, local, remote, header);
}

bool Tcp::reopen_time_wait(TcpConnection& previous, Endpoint local, Endpoint remote, const TcpHeader& syn) {
  if (!syn.has(tcp_flag::syn) || syn.has(tcp_flag::ack) || syn.has(tcp_flag::rst)) return false;
  auto* listener = find_listener(local.port);
  if (!listener || !previous.admits_new_incarnation(syn)) return false;
  // Only when the listener has room for the SYN with state: a SYN cookie cannot
  // carry the ISS RFC 1122 §4.2.2.13 asks for; a full listener keeps TIME-WAIT.
  if (listener->admission() != TcpAdmission::connection) return false;
  accept_syn(*listener, local, remote, syn, &previous);
  return true;
}

void Tcp::accept_syn(TcpListener& listener, Endpoint local, Endpoint remote, const TcpHeader& syn,
                     TcpConnection* previous) {
  SequenceNumber iss = initial_sequence(local, remote);
  if (previous) {
    // RFC 1122 §4.2.2.13: the new ISS lies beyond any number the old incarnation used.
    if (!(iss > previous->send_max())) iss = previous->send_max() + 1;
    previous->end_time_wait();
    time_wait_reopened.increment();
  }
  switch (listener.admission()) {
  case TcpAdmission::full: syn_dropped.increment(); return;
  case TcpAdmission::syn_cookie: send_cookie(local, remote, syn); return;
  case TcpAdmission::connection: break;
  }
  // Refused for memory, the SYN is dropped: the client retries, perhaps once memory is free.
  if (auto* connection = create_connection(local, remote, listener.connection_options()))
    connection->open_passive(syn, listener, iss);
}

// SYN cookies (RFC 4987 §3.6). The ISN of a stateless SYN-ACK carries:
//   bits 31-27  a counter of 64-second periods (mod 32), so old cookies expire;
//   bits 26-24  an index into cookie_mss;
//   bits 23-0   a keyed hash of the connection, the period and the client's ISN.
// Options other than MSS are not offered: the connection runs without window
// scaling, SACK and timestamps.
namespace {
constexpr std::uint16_t cookie_mss[8] = {536, 1200, 1360, 1400, 1440, 1460, 4312, 8960};
constexpr std::int64_t cookie_period_ns = 64'000'000'000;
} // namespace

std::uint32_t Tcp::cookie_hash(Endpoint local, Endpoint remote, std::uint32_t period, SequenceNumber client_isn) const {
  const std::uint32_t nonce[3] = {local.address.value ^ client_isn.value(),
                                  (std::uint32_t{local.port} << 16) | remote.port, remote.address.value ^ period};
  std::uint8_t block[64];
  random::chacha20_block(m_isn_key, 1, nonce, block);
  return load_be32(reinterpret_cast<const std::byte*>(block)) & 0xffffff;
}

std::uint32_t Tcp::cookie_period() const {
  return static_cast<std::uint32_t>(MonotonicClock::now().time_since_epoch().count() / cookie_period_ns) & 31;
}

void Tcp::send_cookie(Endpoint local, Endpoint remote, const TcpHeader& syn) {
  std::uint32_t peer_mss = syn.mss.value_or(536);
  std::uint32_t index = 0;
  for (std::uint32_t i = 0; i < 8; ++i)
    if (cookie_mss[i] <= std::min<std::uint32_t>(peer_mss, mss_for_mtu())) index = i;
  auto period = cookie_period();
  TcpHeader syn_ack;
  syn_ack.source_port = local.port;
  syn_ack.destination_port = remote.port;
  syn_ack.sequence = SequenceNumber((period << 27) | (index << 24) | cookie_hash(local, remote, period, syn.sequence));
  syn_ack.acknowledgment = syn.sequence + 1;
  syn_ack.flags = tcp_flag::syn | tcp_flag::ack;
  syn_ack.window = 0xffff;
  syn_ack.mss = mss_for_mtu();
  cookies_sent.increment();
  transmit_header(local, remote, syn_ack);
}

bool Tcp::accept_cookie(TcpListener& listener, Endpoint local, Endpoint remote, const TcpHeader& ack, Bytes payload) {
  auto cookie = (ack.acknowledgment - 1).value();
  auto period = cookie >> 27;
  auto age = (cookie_period() - period) & 31;
  if (age > 1 || (cookie & 0xffffff) != cookie_hash(local, remote, period, ack.sequence - 1)) return false;
  if (listener.admission() == TcpAdmission::full) {
    syn_dropped.increment();
    return true; // valid, but no room: dropped silently, the client retries
  }
  // Refused for memory, the ACK is dropped: the client's next segment carries the cookie again.
  auto* connection = create_connection(local, remote, listener.connection_options());
  if (!connection) return true;
  cookies_accepted.increment();
  connection->open_from_cookie(ack, cookie_mss[(cookie >> 24) & 7], listener);
  connection->segment_arrives(ack, payload);
  return true;
}

void Tcp::transmit_packet(Endpoint local, Endpoint remote, PacketBuffer segment) {
  fill_transport_checksum(segment, local.address, remote.address, ip_protocol::tcp, TcpHeader::checksum_offset,
                          m_stack.offloads().tx_checksum);
  (void)m_stack.ipv4().send(local.address, remote.address, ip_protocol::tcp, std::move(segment));
}

void Tcp::transmit_header(Endpoint local, Endpoint remote, const TcpHeader& header) {
  auto packet = PacketBuffer::create(header.header_length());
  if (!packet) return;
  ByteWriter writer(packet->data());
  header.write(writer);
  if (!writer.finish()) return;
  transmit_packet(local, remote, std::move(*packet));
}

void Tcp::send_reset(Endpoint local, Endpoint remote, const TcpHeader& header, std::size_t length) {
  // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST>, or <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  TcpHeader rst;
  rst.source_port = local.port;
  rst.destination_port = remote.port;
  if (header.has(tcp_flag::ack)) {
    rst.sequence = header.acknowledgment;
    rst.flags = tcp_flag::rst;
  } else {
    rst.acknowledgment = header.sequence + static_cast<std::uint32_t>(length);
    rst.flags = tcp_flag::rst | tcp_flag::ack;
  }
  transmit_header(local, remote, rst);
}

void Tcp::remove(TcpConnection* connection) {
  auto it = m_connections.find(key(connection->local().port, connection->remote()));
  if (it != m_connections.end() && it->second == connection) m_connections.erase(it);
  if (connection->released() && connection->state() == TcpState::closed) m_reap_wake.notify_one();
}

void Tcp::remove_listener(TcpListener* listener) {
  for (const auto& owned : m_owned)
    if (owned->listener() == listener) owned->forget_listener();
  std::erase(m_listeners, listener);
}

Task<void> Tcp::reap() {
  while (true) {
    (void)co_await m_reap_wake.wait();
    auto freed = std::erase_if(m_owned, [](const std::unique_ptr<TcpConnection>& owned) {
      return owned->released() && owned->state() == TcpState::closed;
    });
    connections_freed.increment(freed);
  }
}

} // namespace morgana::net
