#pragma once

// A connection's send buffer: the bytes from SND.UNA on, as a queue of pieces.
// Small writes (an HTTP head, a chunk's size line) are copied into a ring;
// stored content (a file crunched into the image, a rendered page, a git blob)
// is referenced where it lives, its owner held until the peer acknowledges the
// piece's last byte, and segments are cut from it directly.
//
// Flow control counts both kinds: capacity() bounds the bytes queued, copied
// or referenced, so one huge body waits for ACKs like a huge copied write
// would. Memory does not: referenced bytes cost the queue nothing, and what it
// allocates (the ring and a fixed table of pieces) is memory().

#include <cstddef>
#include <memory>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/core/ring_buffer.h"
#include "morgana/core/shared_bytes.h"

namespace morgana::net {

class TcpSendQueue {
public:
  // The piece table's size. When it is nearly full a referenced write is
  // copied instead, so a copied write always finds room.
  static constexpr std::size_t max_pieces = 32;
  // Referenced writes shorter than this are copied: a piece, its owner's
  // reference count and a segment cut across it cost more than the copy.
  static constexpr std::size_t reference_threshold = 1024;

  TcpSendQueue() = default;
  TcpSendQueue(TcpSendQueue&&) noexcept = default;
  TcpSendQueue& operator=(TcpSendQueue&&) noexcept = default;

  // Allocates the ring (`capacity` bytes) and the piece table; Errc::no_memory on failure.
  [[nodiscard]] Result<void> allocate(std::size_t capacity);
  [[nodiscard]] bool allocated() const { return m_copied.allocated(); }

  [[nodiscard]] std::size_t capacity() const { return m_copied.capacity(); }
  // Bytes queued, copied and referenced.
  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] std::size_t free() const { return capacity() - m_size; }
  [[nodiscard]] bool empty() const { return m_size == 0; }
  // Bytes allocated: the ring and the piece table.
  [[nodiscard]] std::size_t memory() const { return allocated() ? capacity() + piece_table_memory() : 0; }
  // What the piece table takes (1 KiB).
  [[nodiscard]] static std::size_t piece_table_memory();
  // Pieces queued (for tests).
  [[nodiscard]] std::size_t pieces() const { return m_count; }
  // Referenced bytes queued (for tests).
  [[nodiscard]] std::size_t referenced() const { return m_size - m_copied.size(); }

  // Appends as much of `data` as fits, copied; returns how much.
  std::size_t write(Bytes data);
  // Appends as much of `data` as fits, by reference (copied when short, or
  // when the piece table is nearly full); returns how much.
  std::size_t write(const SharedBytes& data);
  // Copies queued bytes starting `offset` past SND.UNA, across pieces.
  void copy_out(std::size_t offset, MutableBytes out) const;
  // Removes `count` bytes from the front (acknowledged); a referenced piece
  // lets go of its owner once all of it is gone.
  void consume(std::size_t count);

private:
  struct Piece {
    const std::byte* data = nullptr; // null: the piece's bytes are next in the ring
    std::size_t length = 0;
    std::shared_ptr<const void> owner;
  };

  [[nodiscard]] Piece& piece(std::size_t index) const { return m_pieces[(m_first + index) % max_pieces]; }
  Piece& push();
  void pop();

  RingBuffer m_copied;
  std::unique_ptr<Piece[]> m_pieces;
  std::size_t m_first = 0;
  std::size_t m_count = 0;
  std::size_t m_size = 0;
};

} // namespace morgana::net
