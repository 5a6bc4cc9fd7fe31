// Drives one live TCP connection with segments taken from the input. A scripted
// peer (tests/unit/net/tcp_peer.h) first opens the connection, then each record
// becomes one segment injected into it, with the virtual clock advanced and the
// application reading, writing or closing in between.
//
// Setup byte: bit 0 active open (connect) instead of passive (listen/accept);
//   bit 1 SACK-permitted, bit 2 timestamps, bit 3 window scale (shift 7);
//   bits 4-5 the peer's MSS (none, 536, 1000, 1460); bit 6 4 KiB buffers; bit 7 nodelay.
// Each record, 10 bytes (then SACK blocks when bit 6 of `mode` is set):
//   flags    control bits as on the wire (any combination)
//   mode     bits 0-2 where SEG.SEQ lies: 0-2 at the peer's SND.NXT (in order; it
//            advances), 3 SND.NXT + signed offset, 4 SND.NXT + 64 * signed offset,
//            5 SND.NXT + unsigned offset (ahead), 6 anywhere (both offsets as one
//            number), 7 SND.NXT - unsigned offset (old);
//            bits 3-4 SEG.ACK: 0-1 the peer's RCV.NXT, 2 RCV.NXT + signed offset,
//            3 anywhere; bit 5 an old TSval (or none, without timestamps);
//            bit 6 SACK blocks follow; bit 7 the application acts (see `action`)
//   seq      16-bit offset for SEG.SEQ;  ack: 16-bit offset for SEG.ACK
//   window   window field: 0, or this byte * 256 + 255
//   length   payload bytes: this byte * 6, at most 1400; with clock bit 4,
//            this byte * 257, at most 64 KiB less the headers, as a device
//            with gro4 hands over segments it coalesced (segment_size 1460)
//   clock    bits 0-3 how far to run the clock afterwards (index into
//            clock_steps); bit 4 a large segment (see `length`); bit 5 the
//            device vouches for the checksum: checksum_partial (else
//            checksum_valid, for large segments only)
//   action   bit 0 read what is readable; bit 1 write (bits 4-7 pick the size);
//            bit 2 shutdown; bit 3 abort (when bits 4-7 are all set); bit 4-7 also toggle
//            nodelay (value 1) or keep-alive (value 2)
//   SACK     count byte (1-4), then per block left and right as 16-bit offsets from RCV.NXT
// The input's last byte also picks what the device offers the stack: bit 0
// tx-csum, bit 1 rx-csum, bit 2 tso (with tx-csum), bit 3 gro (with rx-csum),
// so large segments go both ways.
// Payload bytes are a function of their sequence number, and the application
// writes bytes that are a function of their stream offset, so whatever order
// segments arrive in, the stack must deliver the peer's bytes and send its own
// exactly. Also checked: the stack never acknowledges sequence space the peer
// never sent, and the connection table stays bounded. Sanitizers check memory.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/event_loop.h"
#include "morgana/net/tcp.h"
#include "tcp_peer.h"

using namespace morgana;
using namespace morgana::net;
using namespace morgana::net::tcp_test;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration clock_steps[16] = {0ms,   0ms,   0ms,   1ms, 1ms, 5ms, 20ms, 40ms,
                                      100ms, 200ms, 500ms, 1s,  3s,  10s, 60s,  200s};
constexpr Duration time_budget = std::chrono::minutes(30);
constexpr std::size_t max_payload = 1400;
constexpr std::size_t max_coalesced_payload = 65535 - 20 - 60;
constexpr std::uint16_t peer_port = 40000;

void check(bool condition) {
  if (!condition) std::abort();
}

// The peer's byte at stream offset k (k = SEG.SEQ - IRS - 1 of that byte).
std::byte peer_byte(std::uint32_t k) { return std::byte(static_cast<std::uint8_t>(k * 131 + (k >> 8) * 7 + 11)); }
// The application's byte at stream offset k.
std::byte app_byte(std::uint64_t k) { return std::byte(static_cast<std::uint8_t>(k * 29 + (k >> 9) + 3)); }

// Offsets [0, end) of the peer's stream it has covered with segments, contiguously.
class Coverage {
public:
  void add(std::int64_t from, std::int64_t to) {
    from = std::max<std::int64_t>(from, 0);
    if (to <= from) return;
    m_ranges.push_back({from, to});
    std::sort(m_ranges.begin(), m_ranges.end());
    std::vector<std::pair<std::int64_t, std::int64_t>> merged;
    for (const auto& range : m_ranges) {
      if (!merged.empty() && range.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, range.second);
      else merged.push_back(range);
    }
    m_ranges = std::move(merged);
  }
  [[nodiscard]] std::int64_t contiguous_end() const {
    return !m_ranges.empty() && m_ranges.front().first == 0 ? m_ranges.front().second : 0;
  }

private:
  std::vector<std::pair<std::int64_t, std::int64_t>> m_ranges;
};

struct Fuzz {
  TcpPeer& peer;
  std::unique_ptr<TcpStream> stream;
  SequenceNumber peer_base;  // the peer's first data byte (IRS + 1 for the stack)
  SequenceNumber stack_base; // the stack's first data byte (its ISS + 1)
  Coverage coverage;
  std::uint64_t read_offset = 0;
  std::uint64_t write_end = 0; // bytes handed to write() so far
  std::vector<std::byte> write_buffer;
  Outcome<Result<void>> writing;
  bool write_failed = false;

  // Takes what the stack sent: checks it, and follows its sequence numbers.
  void take() {
    bool ours = stream && stream->state() != TcpState::closed;
    for (const auto& segment : peer.take()) {
      if (segment.header.source_port != peer.stack_port || segment.header.destination_port != peer.port) continue;
      if (!segment.payload.empty()) {
        auto offset = static_cast<std::uint32_t>(segment.seq() - stack_base);
        check(std::uint64_t{offset} + segment.payload.size() <= write_end);
        for (std::size_t i = 0; i < segment.payload.size(); ++i) check(segment.payload[i] == app_byte(offset + i));
      }
      if (ours && segment.has(tcp_flag::ack) && !segment.has(tcp_flag::rst) && !segment.has(tcp_flag::syn)) {
        auto acked = segment.ack() - peer_base;
        check(acked >= 0 && acked <= coverage.contiguous_end());
      }
      peer.note(segment);
    }
  }

  void read() {
    std::byte buffer[2048];
    while (true) {
      auto count = peer.run(stream->read(buffer, MonotonicClock::now()));
      if (!count || *count == 0) return;
      for (std::size_t i = 0; i < *count; ++i)
        check(buffer[i] == peer_byte(static_cast<std::uint32_t>(read_offset + i)));
      read_offset += *count;
    }
  }

  void write(std::size_t length) {
    if (write_failed || (writing && !writing->has_value())) return;
    if (writing && !writing->value()) {
      write_failed = true;
      return;
    }
    write_buffer.resize(length);
    for (std::size_t i = 0; i < length; ++i) write_buffer[i] = app_byte(write_end + i);
    write_end += length;
    writing = peer.start(stream->write(write_buffer, MonotonicClock::now() + seconds(120)));
  }

  void act(std::uint8_t action) {
    std::size_t pick = action >> 4;
    if (action & 0x01) read();
    if (action & 0x02) write(pick * pick * 97 + 1);
    if (action & 0x04) (void)stream->shutdown();
    if ((action & 0x08) && pick == 15) stream->abort();
    if (pick == 1) stream->set_nodelay(action & 0x80);
    if (pick == 2) stream->set_keepalive(seconds(5));
  }
};

PeerOptions options_from(std::uint8_t setup) {
  constexpr std::optional<std::uint16_t> mss_choices[4] = {std::nullopt, 536, 1000, 1460};
  PeerOptions options;
  options.sack_permitted = setup & 0x02;
  options.timestamps = setup & 0x04;
  options.window_scale = (setup & 0x08) ? std::optional<std::uint8_t>(7) : std::nullopt;
  options.mss = mss_choices[(setup >> 4) & 3];
  return options;
}

std::unique_ptr<TcpStream> open_active(TcpPeer& peer, const PeerOptions& options, TcpConnectionOptions connection) {
  auto outcome = peer.start(
      peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(5), connection));
  peer.settle();
  auto sent = peer.take();
  check(sent.size() == 1 && sent[0].has(tcp_flag::syn));
  peer.stack_port = sent[0].header.source_port;
  peer.note(sent[0]);
  auto syn_ack = peer.syn(options);
  syn_ack.flags |= tcp_flag::ack;
  syn_ack.acknowledgment = peer.rcv_nxt;
  if (syn_ack.timestamps && sent[0].header.timestamps)
    syn_ack.timestamps->echo_reply = sent[0].header.timestamps->value;
  peer.inject(syn_ack);
  peer.snd_nxt += 1;
  peer.timestamps = options.timestamps;
  peer.settle();
  check(outcome->has_value() && outcome->value().has_value());
  return std::move(outcome->value().value());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  ByteReader reader(Bytes(reinterpret_cast<const std::byte*>(data), size));
  auto setup = *reader.u8();
  auto options = options_from(setup);
  TcpConnectionOptions connection;
  if (setup & 0x40) connection.send_buffer = connection.receive_buffer = 4096;
  connection.nodelay = setup & 0x80;

  auto last = data[size - 1];
  NetOffloads offloads{.tx_checksum = (last & 1) != 0, .rx_checksum = (last & 2) != 0};
  offloads.tso4 = offloads.tx_checksum && (last & 4);
  offloads.gro4 = offloads.rx_checksum && (last & 8);
  TcpPeer peer(1500, offloads);
  peer.port = peer_port;
  peer.snd_nxt = SequenceNumber(0xfffff000); // the peer's stream wraps early
  Fuzz fuzz{peer};
  if (setup & 0x01) {
    fuzz.stream = open_active(peer, options, connection);
  } else {
    TcpListenOptions listen_options;
    listen_options.backlog = 4;
    listen_options.connection = connection;
    peer.listener = MUST(peer.tcp().listen(peer.stack_port, listen_options));
    check(peer.handshake(options).has_value());
    fuzz.stream = peer.accept();
  }
  check(fuzz.stream != nullptr);
  fuzz.peer_base = peer.snd_nxt;
  fuzz.stack_base = peer.rcv_nxt;
  fuzz.take();

  auto budget_end = MonotonicClock::now() + time_budget;
  while (reader.remaining() >= 10) {
    auto flags = *reader.u8();
    auto mode = *reader.u8();
    auto seq_offset = *reader.u16();
    auto ack_offset = *reader.u16();
    auto window = *reader.u8();
    auto length_byte = std::size_t{*reader.u8()};
    auto clock = *reader.u8();
    bool coalesced = clock & 0x10;
    auto length =
        coalesced ? std::min(length_byte * 257, max_coalesced_payload) : std::min(length_byte * 6, max_payload);
    FrameOffload offload;
    if (clock & 0x20) offload.checksum_partial = true;
    else offload.checksum_valid = coalesced;
    if (coalesced) offload.segment_size = 1460;
    auto action = *reader.u8();

    TcpHeader header = peer.make(flags);
    switch (mode & 7) {
    case 3: header.sequence = peer.snd_nxt + static_cast<std::uint32_t>(static_cast<std::int16_t>(seq_offset)); break;
    case 4:
      header.sequence = peer.snd_nxt + static_cast<std::uint32_t>(64 * static_cast<std::int16_t>(seq_offset));
      break;
    case 5: header.sequence = peer.snd_nxt + seq_offset; break;
    case 6: header.sequence = SequenceNumber((std::uint32_t{seq_offset} << 16) | ack_offset); break;
    case 7: header.sequence = peer.snd_nxt - seq_offset; break;
    default: break;
    }
    switch ((mode >> 3) & 3) {
    case 2:
      header.acknowledgment = peer.rcv_nxt + static_cast<std::uint32_t>(static_cast<std::int16_t>(ack_offset));
      break;
    case 3: header.acknowledgment = SequenceNumber((std::uint32_t{ack_offset} << 16) | seq_offset); break;
    default: break;
    }
    header.window = window == 0 ? 0 : static_cast<std::uint16_t>(window * 256 + 255);
    if (mode & 0x20) {
      if (header.timestamps) header.timestamps->value -= std::uint32_t{window} << 20 | 1;
      else header.timestamps = TcpTimestamps{seq_offset, ack_offset};
    }
    if (mode & 0x40) {
      auto count = reader.u8();
      if (!count) break;
      header.sack_block_count = static_cast<std::uint8_t>(std::clamp<int>(*count & 7, 1, 4));
      for (std::size_t i = 0; i < header.sack_block_count; ++i) {
        auto left = reader.u16();
        auto right = reader.u16();
        if (!left || !right) break;
        header.sack_blocks[i] = SackBlock{peer.rcv_nxt + *left, peer.rcv_nxt + *right};
      }
    }
    // Payload bytes follow their sequence numbers; a SYN occupies the first.
    auto first = header.sequence + (header.has(tcp_flag::syn) ? 1u : 0u);
    std::vector<std::byte> payload(length);
    for (std::size_t i = 0; i < length; ++i)
      payload[i] = peer_byte(static_cast<std::uint32_t>(first - fuzz.peer_base) + static_cast<std::uint32_t>(i));
    auto covered = std::uint32_t(length) + (header.has(tcp_flag::syn) ? 1 : 0) + (header.has(tcp_flag::fin) ? 1 : 0);
    std::int64_t from = header.sequence - fuzz.peer_base;
    fuzz.coverage.add(from, from + covered);
    peer.inject(header, payload, TcpPeer::peer_address, offload);
    if ((mode & 7) < 3 && !header.has(tcp_flag::rst)) peer.snd_nxt += covered;

    auto step = MonotonicClock::now() < budget_end ? clock_steps[clock & 15] : Duration{};
    peer.run_for(std::max<Duration>(step, std::chrono::microseconds(100)), seconds(5));
    fuzz.take();
    if (mode & 0x80) {
      fuzz.act(action);
      peer.settle();
      fuzz.take();
    }
    check(peer.tcp().connection_count() <= 8);
  }
  // Let the timers finish what is pending: retransmissions, TIME-WAIT, keep-alive.
  fuzz.read();
  peer.run_for(seconds(300), seconds(10));
  fuzz.take();
  loop().destroy_spawned();
  fuzz.stream.reset();
  return 0;
}
