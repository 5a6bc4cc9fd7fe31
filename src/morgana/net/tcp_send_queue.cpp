#include "morgana/net/tcp_send_queue.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/memory.h"

namespace morgana::net {

Result<void> TcpSendQueue::allocate(std::size_t capacity) {
  auto pieces = TRY(try_make_unique<Piece[]>("TCP send queue", max_pieces));
  TRY(m_copied.allocate(capacity));
  m_pieces = std::move(pieces);
  m_first = m_count = m_size = 0;
  return {};
}

std::size_t TcpSendQueue::piece_table_memory() { return max_pieces * sizeof(Piece); }

std::size_t TcpSendQueue::write(Bytes data) {
  auto count = std::min(data.size(), free());
  if (count == 0) return 0;
  m_copied.write(data.first(count));
  // Copied bytes that follow each other are one piece: the ring keeps their order.
  if (m_count == 0 || piece(m_count - 1).data != nullptr) push();
  piece(m_count - 1).length += count;
  m_size += count;
  return count;
}

std::size_t TcpSendQueue::write(const SharedBytes& data) {
  auto count = std::min(data.size(), free());
  if (count == 0) return 0;
  auto bytes = data.data.first(count);
  if (m_count > 0) {
    // A body written in slices continues the piece before it.
    auto& last = piece(m_count - 1);
    bool same_owner = !last.owner.owner_before(data.owner) && !data.owner.owner_before(last.owner);
    if (last.data != nullptr && same_owner && last.data + last.length == bytes.data()) {
      last.length += count;
      m_size += count;
      return count;
    }
  }
  // Keep one entry free for a copied write (write(Bytes) must always find room).
  if (count < reference_threshold || m_count + 2 > max_pieces) return write(bytes);
  auto& added = push();
  added.data = bytes.data();
  added.length = count;
  added.owner = data.owner;
  m_size += count;
  return count;
}

void TcpSendQueue::copy_out(std::size_t offset, MutableBytes out) const {
  std::size_t ring_offset = 0; // copied bytes in the pieces before this one
  for (std::size_t index = 0; index < m_count && !out.empty(); ++index) {
    const auto& current = piece(index);
    if (offset < current.length) {
      auto count = std::min(out.size(), current.length - offset);
      if (current.data == nullptr) m_copied.copy_out(ring_offset + offset, out.first(count));
      else std::memcpy(out.data(), current.data + offset, count);
      out = out.subspan(count);
      offset = 0;
    } else {
      offset -= current.length;
    }
    if (current.data == nullptr) ring_offset += current.length;
  }
}

void TcpSendQueue::consume(std::size_t count) {
  count = std::min(count, m_size);
  m_size -= count;
  while (count > 0) {
    auto& front = piece(0);
    auto taken = std::min(count, front.length);
    if (front.data == nullptr) m_copied.consume(taken);
    else front.data += taken;
    front.length -= taken;
    count -= taken;
    if (front.length == 0) pop();
  }
}

TcpSendQueue::Piece& TcpSendQueue::push() {
  auto& added = piece(m_count);
  ++m_count;
  added = Piece{};
  return added;
}

void TcpSendQueue::pop() {
  piece(0) = Piece{}; // lets go of the owner
  m_first = (m_first + 1) % max_pieces;
  --m_count;
}

} // namespace morgana::net
