#pragma once

// A scripted TCP peer for the connection and layer tests: the stack under test
// runs on a simulated device as 10.0.0.2, the peer is 10.0.0.1. The peer
// builds its segments with TcpHeader::write and tcp_checksum inside IPv4 and
// Ethernet frames, injects them, and parses what the stack sent. It keeps the
// peer's end of one connection in public fields that tests set and read.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "frames.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/task.h"
#include "morgana/net/stack.h"
#include "morgana/net/tcp.h"
#include "morgana/net/tcp_header.h"

namespace morgana::net::tcp_test {

using frames::Frame;

// One segment the stack sent, its checksum verified.
struct SentSegment {
  TcpHeader header;
  Frame payload;
  FrameOffload offload; // what the stack asked of the device (its checksum is completed here)

  [[nodiscard]] bool has(std::uint8_t flags) const { return header.has(flags); }
  // Only these control bits (ACK, PSH and the like compared too).
  [[nodiscard]] bool flags_are(std::uint8_t flags) const { return header.flags == flags; }
  [[nodiscard]] SequenceNumber seq() const { return header.sequence; }
  [[nodiscard]] SequenceNumber ack() const { return header.acknowledgment; }
  // SEG.LEN (RFC 9293 §3.4): data plus SYN and FIN.
  [[nodiscard]] std::uint32_t length() const;
  [[nodiscard]] SequenceNumber end() const { return seq() + length(); }
};

// What the peer offers in its SYN.
struct PeerOptions {
  std::optional<std::uint16_t> mss = 1460;
  std::optional<std::uint8_t> window_scale = 7;
  bool sack_permitted = true;
  bool timestamps = true;
};

// Options the peer offers none of.
inline PeerOptions bare_options() { return PeerOptions{std::nullopt, std::nullopt, false, false}; }

// Stores a task's result once it finishes; the task runs on the event loop.
template <class T>
using Outcome = std::shared_ptr<std::optional<T>>;

template <class T>
Task<void> store_outcome(Task<T> task, Outcome<T> outcome) {
  outcome->emplace(co_await std::move(task));
}

class TcpPeer {
public:
  static constexpr auto peer_address = frames::peer_address;
  static constexpr auto our_address = frames::our_address;

  // A fresh simulated platform and started stack; the stack learns the peer's MAC.
  explicit TcpPeer(std::uint16_t mtu = 1500, NetOffloads offloads = {});
  TcpPeer(const TcpPeer&) = delete;
  TcpPeer& operator=(const TcpPeer&) = delete;
  // Destroys spawned tasks (which may hold streams) before the stack.
  ~TcpPeer();

  Stack& stack() { return m_network->stack(); }
  Tcp& tcp() { return stack().tcp(); }

  // The peer's end of the connection.
  std::uint16_t port = 40000;    // the peer's port
  std::uint16_t stack_port = 80; // the stack's port
  SequenceNumber snd_nxt{1000};  // the peer's next sequence number
  SequenceNumber rcv_nxt;        // what the peer acknowledges
  std::uint16_t window = 65535;  // as on the wire
  bool timestamps = false;       // whether segments carry TSval/TSecr
  std::uint32_t ts_echo = 0;     // TSecr: the stack's latest TSval
  std::uint32_t ts_base = 5000;  // TSval = ts_base + virtual milliseconds

  // A header from the peer's state: ports, SEQ=snd_nxt, ACK=rcv_nxt when
  // `flags` has ACK, window and timestamps. Does not change the state.
  [[nodiscard]] TcpHeader make(std::uint8_t flags) const;
  [[nodiscard]] std::uint32_t ts_value() const;
  // Injects exactly this header and payload (checksum computed), from `from`,
  // with what the device says about the frame.
  void inject(const TcpHeader& header, Bytes payload = {}, Ipv4Address from = peer_address,
              const FrameOffload& offload = {});
  // make(flags) with `payload`, injected; SND.NXT moves over the payload, SYN and FIN.
  void send(std::uint8_t flags, Bytes payload = {});
  // Injects and lets the stack handle it (settle()).
  void send_now(std::uint8_t flags, Bytes payload = {}) {
    send(flags, payload);
    settle();
  }

  // Segments the stack sent since the last call, in order. ARP requests for
  // the peer are answered on the way; any other frame fails the test.
  std::vector<SentSegment> take();
  // Updates RCV.NXT and TSecr from a segment the stack sent (in order only).
  void note(const SentSegment& segment);
  // Every segment taken, noted.
  std::vector<SentSegment> take_noted();
  // Takes the stack's data in order until `size` bytes arrived or `rounds`
  // rounds passed, acknowledging each round's new data once (a repeated ACK
  // would count as a duplicate, RFC 5681 §2), so the window opens as it would.
  Frame receive_acking(std::size_t size, int rounds);

  // Drives the loop for `duration` of virtual time, in steps of at most `step`
  // between which ARP requests are answered (the cache expires in long waits;
  // the stack retries a request after 1 s).
  void run_for(Duration duration, Duration step = std::chrono::milliseconds(500));
  // Lets the stack handle what was injected; the clock moves by about 1 ms.
  void settle() { run_for(std::chrono::milliseconds(1)); }
  // Runs `task` on the loop in the background; the outcome is set when it finishes.
  template <class T>
  Outcome<T> start(Task<T> task) {
    auto outcome = std::make_shared<std::optional<T>>();
    loop().spawn(store_outcome(std::move(task), outcome));
    return outcome;
  }
  // Runs `task` to completion now (it must have a deadline or finish on its own).
  template <class T>
  T run(Task<T> task) {
    return loop().run(std::move(task));
  }

  // Passive open against a listener on stack_port: SYN with `options` (and
  // timestamps on, when offered) -> the stack's SYN-ACK -> ACK. Returns the
  // SYN-ACK, or nullopt when the stack did not answer with one segment.
  std::optional<SentSegment> handshake(const PeerOptions& options = {});
  // Listens (if not yet), completes a passive open and accepts; nullptr on failure.
  std::unique_ptr<TcpStream> establish(const PeerOptions& options = {}, TcpListenOptions listen_options = {});
  // The next connection from `listener` (not waiting); nullptr when none is ready.
  std::unique_ptr<TcpStream> accept();
  // The SYN the peer sends for `options` (not injected).
  [[nodiscard]] TcpHeader syn(const PeerOptions& options) const;

  // Reads whatever is readable now (no waiting).
  Frame read_now(TcpStream& stream);
  // Writes `data` without waiting for buffer space and lets the stack send;
  // false when it did not all fit or the connection refused it.
  bool write(TcpStream& stream, Bytes data);

  std::unique_ptr<TcpListener> listener;

private:
  // Takes the device's sent frames: answers ARP requests, holds the rest for take().
  void collect();
  void answer_arp(const Frame& frame);

  std::unique_ptr<frames::SimNetwork> m_network;
  std::vector<std::pair<Frame, FrameOffload>> m_held;
};

// A TcpListener's accept() yields TcpStreams; this gives back the type.
inline std::unique_ptr<TcpStream> as_tcp(std::unique_ptr<Stream> stream) {
  return std::unique_ptr<TcpStream>(static_cast<TcpStream*>(stream.release()));
}

// The segments in `segments` that carry data.
std::vector<SentSegment> with_data(const std::vector<SentSegment>& segments);

} // namespace morgana::net::tcp_test
