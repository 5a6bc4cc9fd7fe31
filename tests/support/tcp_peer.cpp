#include "tcp_peer.h"

#include <algorithm>

namespace morgana::net::tcp_test {

std::uint32_t SentSegment::length() const {
  return static_cast<std::uint32_t>(payload.size()) + (has(tcp_flag::syn) ? 1 : 0) + (has(tcp_flag::fin) ? 1 : 0);
}

std::vector<SentSegment> with_data(const std::vector<SentSegment>& segments) {
  std::vector<SentSegment> found;
  for (const auto& segment : segments)
    if (!segment.payload.empty()) found.push_back(segment);
  return found;
}

TcpPeer::TcpPeer(std::uint16_t mtu, NetOffloads offloads)
    : m_network(std::make_unique<frames::SimNetwork>(frames::default_config(), mtu, offloads)) {
  m_network->learn();
}

TcpPeer::~TcpPeer() {
  loop().destroy_spawned();
  listener.reset();
  m_network.reset();
}

std::uint32_t TcpPeer::ts_value() const { return ts_base + static_cast<std::uint32_t>(sim::now_ns() / 1'000'000); }

TcpHeader TcpPeer::make(std::uint8_t flags) const {
  TcpHeader header;
  header.source_port = port;
  header.destination_port = stack_port;
  header.sequence = snd_nxt;
  header.flags = flags;
  if (flags & tcp_flag::ack) header.acknowledgment = rcv_nxt;
  header.window = window;
  if (timestamps) header.timestamps = TcpTimestamps{ts_value(), ts_echo};
  return header;
}

void TcpPeer::inject(const TcpHeader& header, Bytes payload, Ipv4Address from, const FrameOffload& offload) {
  frames::Ipv4Fields ip;
  ip.protocol = ip_protocol::tcp;
  ip.source = from;
  m_network->inject(frames::ipv4_frame(ip, frames::tcp_segment(header, payload, from, our_address)), offload);
}

void TcpPeer::send(std::uint8_t flags, Bytes payload) {
  inject(make(flags), payload);
  snd_nxt += static_cast<std::uint32_t>(payload.size()) + ((flags & tcp_flag::syn) ? 1 : 0) +
             ((flags & tcp_flag::fin) ? 1 : 0);
}

void TcpPeer::answer_arp(const Frame& frame) {
  auto request = frames::decode_arp(frame);
  if (!request || request->operation != ArpPacket::request || request->target_protocol != peer_address) return;
  m_network->inject(frames::arp_reply(frames::peer_mac, peer_address, frames::our_mac, our_address));
}

void TcpPeer::collect() {
  for (auto& [frame, offload] : m_network->sent_with_offloads()) {
    if (frames::decode_arp(frame)) answer_arp(frame);
    else m_held.emplace_back(std::move(frame), offload);
  }
}

std::vector<SentSegment> TcpPeer::take() {
  collect();
  std::vector<SentSegment> segments;
  for (auto& [frame, offload] : std::exchange(m_held, {})) {
    frames::complete_checksum(frame, offload);
    auto packet = frames::decode_ipv4(frame);
    if (!packet || packet->header.protocol != ip_protocol::tcp)
      platform::abort("tcp peer: the stack sent a frame that is neither TCP nor ARP");
    if (tcp_checksum(packet->header.source, packet->header.destination, packet->payload) != 0)
      platform::abort("tcp peer: the stack sent a TCP segment with a bad checksum");
    ByteReader reader(packet->payload);
    auto header = TcpHeader::parse(reader);
    if (!header) platform::abort("tcp peer: the stack sent a TCP header that does not parse");
    auto rest = reader.rest();
    segments.push_back(SentSegment{*header, Frame(rest.begin(), rest.end()), offload});
  }
  return segments;
}

void TcpPeer::note(const SentSegment& segment) {
  if (segment.has(tcp_flag::syn)) rcv_nxt = segment.end();
  else if (segment.seq() == rcv_nxt) rcv_nxt = segment.end();
  if (segment.header.timestamps) ts_echo = segment.header.timestamps->value;
}

std::vector<SentSegment> TcpPeer::take_noted() {
  auto segments = take();
  for (const auto& segment : segments) note(segment);
  return segments;
}

Frame TcpPeer::receive_acking(std::size_t size, int rounds) {
  Frame received;
  for (int round = 0; round < rounds && received.size() < size; ++round) {
    settle();
    auto before = rcv_nxt;
    for (const auto& segment : take()) {
      if (segment.seq() == rcv_nxt) received.insert(received.end(), segment.payload.begin(), segment.payload.end());
      note(segment);
    }
    if (rcv_nxt != before) send_now(tcp_flag::ack);
  }
  return received;
}

void TcpPeer::run_for(Duration duration, Duration step) {
  auto end = MonotonicClock::now() + duration;
  do {
    m_network->run_for(std::clamp<Duration>(end - MonotonicClock::now(), Duration{1}, step));
    collect();
  } while (MonotonicClock::now() < end);
}

TcpHeader TcpPeer::syn(const PeerOptions& options) const {
  TcpHeader header = make(tcp_flag::syn);
  header.mss = options.mss;
  header.window_scale = options.window_scale;
  header.sack_permitted = options.sack_permitted;
  header.timestamps.reset();
  if (options.timestamps) header.timestamps = TcpTimestamps{ts_value(), 0};
  return header;
}

std::optional<SentSegment> TcpPeer::handshake(const PeerOptions& options) {
  (void)take();
  inject(syn(options));
  snd_nxt += 1;
  settle();
  auto answer = take();
  if (answer.size() != 1 || !answer[0].flags_are(tcp_flag::syn | tcp_flag::ack) || answer[0].ack() != snd_nxt)
    return std::nullopt;
  timestamps = options.timestamps && answer[0].header.timestamps.has_value();
  note(answer[0]);
  send_now(tcp_flag::ack);
  return answer[0];
}

std::unique_ptr<TcpStream> TcpPeer::establish(const PeerOptions& options, TcpListenOptions listen_options) {
  if (!listener) {
    auto listening = tcp().listen(stack_port, listen_options);
    if (!listening) return nullptr;
    listener = std::move(*listening);
  }
  if (!handshake(options)) return nullptr;
  return accept();
}

std::unique_ptr<TcpStream> TcpPeer::accept() {
  if (!listener) return nullptr;
  auto accepted = run(listener->accept(MonotonicClock::now()));
  if (!accepted) return nullptr;
  return as_tcp(std::move(*accepted));
}

Frame TcpPeer::read_now(TcpStream& stream) {
  Frame data;
  std::byte buffer[4096];
  while (true) {
    auto count = run(stream.read(buffer, MonotonicClock::now()));
    if (!count || *count == 0) return data;
    data.insert(data.end(), buffer, buffer + *count);
  }
}

bool TcpPeer::write(TcpStream& stream, Bytes data) {
  auto written = run(stream.write(data, MonotonicClock::now()));
  settle();
  return written.has_value();
}

} // namespace morgana::net::tcp_test
