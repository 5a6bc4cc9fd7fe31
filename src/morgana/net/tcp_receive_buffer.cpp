#include "morgana/net/tcp_receive_buffer.h"

#include <algorithm>

namespace morgana::net {

Result<void> TcpReceiveBuffer::allocate(std::size_t capacity) {
  TRY(m_ring.allocate(capacity));
  m_ranges.clear();
  return {};
}

void TcpReceiveBuffer::release() {
  m_ring = RingBuffer{};
  m_ranges = std::vector<Range>{}; // move-assigned, so the capacity goes too
}

std::uint32_t TcpReceiveBuffer::insert(SequenceNumber sequence, Bytes data) {
  // Keep only what lies in [RCV.NXT, RCV.NXT + window).
  if (sequence < m_next) {
    auto old = static_cast<std::uint32_t>(m_next - sequence);
    if (old >= data.size()) return 0;
    data = data.subspan(old);
    sequence = m_next;
  }
  if (!allocated()) return 0;
  auto offset = static_cast<std::uint32_t>(sequence - m_next);
  if (offset >= window()) return 0;
  data = data.first(std::min<std::size_t>(data.size(), window() - offset));
  if (data.empty()) return 0;
  m_ring.write_at(m_ring.size() + offset, data);
  if (offset > 0) {
    add_range(sequence, sequence + static_cast<std::uint32_t>(data.size()));
    return 0;
  }
  // In order: commit it, and every held range it now reaches.
  auto end = sequence + static_cast<std::uint32_t>(data.size());
  while (!m_ranges.empty() && m_ranges.front().left <= end) {
    end = seq_max(end, m_ranges.front().right);
    m_ranges.erase(m_ranges.begin());
  }
  auto advanced = static_cast<std::uint32_t>(end - m_next);
  m_ring.commit(advanced);
  m_next = end;
  return advanced;
}

void TcpReceiveBuffer::add_range(SequenceNumber left, SequenceNumber right) {
  ++m_change_count;
  // Merge with every range it touches or overlaps.
  auto it = m_ranges.begin();
  while (it != m_ranges.end() && it->right < left) ++it;
  while (it != m_ranges.end() && it->left <= right) {
    left = seq_min(left, it->left);
    right = seq_max(right, it->right);
    it = m_ranges.erase(it);
  }
  if (m_ranges.size() >= max_ranges) {
    // Forget the range furthest out: its data stays in the ring but will be
    // retransmitted by the peer (we never SACKed it, or it reneges safely).
    if (m_ranges.back().left < left) return;
    m_ranges.pop_back();
    it = std::find_if(m_ranges.begin(), m_ranges.end(), [&](const Range& r) { return left < r.left; });
  }
  m_ranges.insert(it, Range{left, right, m_change_count});
}

std::size_t TcpReceiveBuffer::read(MutableBytes out) { return m_ring.read(out); }

std::optional<SackBlock> TcpReceiveBuffer::duplicate(SequenceNumber sequence, std::size_t length) const {
  if (length == 0) return std::nullopt;
  auto end = sequence + static_cast<std::uint32_t>(length);
  if (sequence < m_next) return SackBlock{sequence, seq_min(end, m_next)};
  for (const auto& range : m_ranges) {
    if (range.right <= sequence) continue;
    if (end <= range.left) break;
    return SackBlock{seq_max(sequence, range.left), seq_min(end, range.right)};
  }
  return std::nullopt;
}

std::size_t TcpReceiveBuffer::sack_blocks(SackBlock* out, std::size_t count) const {
  std::size_t produced = 0;
  std::uint64_t below = ~std::uint64_t{0};
  while (produced < count) {
    const Range* newest = nullptr;
    for (const auto& range : m_ranges)
      if (range.changed < below && (!newest || range.changed > newest->changed)) newest = &range;
    if (!newest) break;
    out[produced++] = {newest->left, newest->right};
    below = newest->changed;
  }
  return produced;
}

} // namespace morgana::net
