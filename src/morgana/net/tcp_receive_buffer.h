#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "morgana/core/ring_buffer.h"
#include "morgana/net/tcp_header.h"
#include "morgana/net/tcp_sequence.h"

namespace morgana::net {

// Received data of one connection: in-order bytes the application has not
// read yet, and out-of-order segments held in place (in the same ring, at
// their offset past RCV.NXT) until the gap before them fills. The ranges held
// become SACK blocks (RFC 2018 §4), most recently changed first.
class TcpReceiveBuffer {
public:
  static constexpr std::size_t max_ranges = 16;

  // Sets RCV.NXT before the storage exists (a half-open connection stays small).
  void start(SequenceNumber next) { m_next = next; }
  [[nodiscard]] Result<void> allocate(std::size_t capacity);
  [[nodiscard]] bool allocated() const { return m_ring.allocated(); }
  [[nodiscard]] std::size_t capacity() const { return m_ring.capacity(); }
  // Frees the storage and the out-of-order ranges once no more data can come
  // in and all was read; RCV.NXT stays.
  void release();

  // RCV.NXT: the next byte expected in order.
  [[nodiscard]] SequenceNumber next() const { return m_next; }
  // The bytes of free space past RCV.NXT (what the window may offer).
  [[nodiscard]] std::size_t window() const { return m_ring.capacity() - m_ring.size(); }
  [[nodiscard]] std::size_t readable() const { return m_ring.size(); }

  // Stores segment text starting at `sequence` (already trimmed to the window
  // by the caller; anything outside is ignored). Returns how far RCV.NXT moved.
  std::uint32_t insert(SequenceNumber sequence, Bytes data);
  // Copies out and removes up to out.size() in-order bytes.
  std::size_t read(MutableBytes out);
  // Whether out-of-order data waits beyond a gap.
  [[nodiscard]] bool has_gaps() const { return !m_ranges.empty(); }
  // Advances RCV.NXT past a control bit (SYN or FIN) that occupies one number.
  void advance_for_control() { m_next += 1; }

  // The first part of [sequence, sequence + length) already received (below
  // RCV.NXT or in a held range): what a D-SACK block reports (RFC 2883 §4).
  [[nodiscard]] std::optional<SackBlock> duplicate(SequenceNumber sequence, std::size_t length) const;
  // Up to `count` SACK blocks, the most recently changed range first.
  std::size_t sack_blocks(SackBlock* out, std::size_t count) const;

private:
  struct Range {
    SequenceNumber left;
    SequenceNumber right;
    std::uint64_t changed; // for RFC 2018's "most recent first" order
  };
  void add_range(SequenceNumber left, SequenceNumber right);

  RingBuffer m_ring;
  SequenceNumber m_next;
  std::vector<Range> m_ranges; // sorted, disjoint, all beyond m_next
  std::uint64_t m_change_count = 0;
};

} // namespace morgana::net
