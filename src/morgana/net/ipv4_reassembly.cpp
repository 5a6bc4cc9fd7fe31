#include "morgana/net/ipv4_reassembly.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/counter.h"

namespace morgana::net {
namespace {

Counter evicted_counter{"ipv4.reassembly_evicted", "datagrams in reassembly dropped to make room for a newer one"};

} // namespace

std::size_t Ipv4Reassembler::in_progress() const { return m_datagrams.size(); }

std::size_t Ipv4Reassembler::expire(Instant now) {
  auto stale = std::erase_if(m_datagrams, [&](const Datagram& d) { return now - d.started >= m_limits.timeout; });
  return static_cast<std::size_t>(stale);
}

// RFC 791 §3.2: fragments belong together when source, destination, protocol and identification match.
std::size_t Ipv4Reassembler::find(const Ipv4Header& header) const {
  for (std::size_t i = 0; i < m_datagrams.size(); ++i) {
    const auto& d = m_datagrams[i];
    if (d.identification == header.identification && d.source == header.source && d.destination == header.destination &&
        d.protocol == header.protocol)
      return i;
  }
  return m_datagrams.size();
}

Result<std::size_t> Ipv4Reassembler::start_datagram(const Ipv4Header& header, Instant now) {
  if (m_limits.max_datagrams == 0) return fail(Errc::limit_reached, "reassembly disabled");
  if (m_datagrams.size() >= m_limits.max_datagrams) {
    auto oldest = std::min_element(m_datagrams.begin(), m_datagrams.end(),
                                   [](const Datagram& a, const Datagram& b) { return a.started < b.started; });
    m_datagrams.erase(oldest);
    evicted_counter.increment();
  }
  m_datagrams.push_back(Datagram{.source = header.source,
                                 .destination = header.destination,
                                 .protocol = header.protocol,
                                 .identification = header.identification,
                                 .started = now});
  return m_datagrams.size() - 1;
}

// Makes the buffer hold at least `end` bytes, keeping the pieces already copied in.
Result<void> Ipv4Reassembler::reserve(Datagram& datagram, std::size_t end) const {
  auto current = datagram.buffer.size();
  if (end <= current) return {};
  std::size_t capacity = end;
  if (datagram.total_length) capacity = *datagram.total_length;
  else capacity = std::min(std::max(end, 2 * current), m_limits.max_payload);
  auto grown = TRY(PacketBuffer::create(capacity, PacketBuffer::default_headroom));
  for (const auto& piece : datagram.pieces)
    std::memcpy(grown.data().data() + piece.offset, datagram.buffer.data().data() + piece.offset, piece.length);
  datagram.buffer = std::move(grown);
  return {};
}

Result<std::optional<PacketBuffer>> Ipv4Reassembler::add(const Ipv4Header& header, Bytes payload, Instant now) {
  // Checks on the fragment alone drop only the fragment.
  if (payload.empty()) return fail(Errc::malformed, "empty fragment");
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes.
  if (header.more_fragments && payload.size() % 8 != 0)
    return fail(Errc::malformed, "fragment length not a multiple of 8");

  auto index = find(header);
  std::size_t end = std::size_t{header.fragment_offset} + payload.size();
  if (end > m_limits.max_payload) {
    if (index < m_datagrams.size()) m_datagrams.erase(m_datagrams.begin() + static_cast<std::ptrdiff_t>(index));
    return fail(Errc::limit_reached, "reassembled datagram too large");
  }
  if (index == m_datagrams.size()) index = TRY(start_datagram(header, now));

  auto result = add_piece(m_datagrams[index], header, payload);
  // The datagram leaves the table when it is complete or dropped; an ignored duplicate keeps it.
  if (!result || *result) m_datagrams.erase(m_datagrams.begin() + static_cast<std::ptrdiff_t>(index));
  return result;
}

Result<std::optional<PacketBuffer>> Ipv4Reassembler::add_piece(Datagram& datagram, const Ipv4Header& header,
                                                               Bytes payload) {
  std::uint32_t offset = header.fragment_offset;
  auto length = static_cast<std::uint32_t>(payload.size());
  std::uint32_t end = offset + length;

  if (!header.more_fragments) {
    if (datagram.total_length && *datagram.total_length != end)
      return fail(Errc::malformed, "last fragments disagree on the end");
    if (!datagram.pieces.empty() && datagram.pieces.back().offset + datagram.pieces.back().length > end)
      return fail(Errc::malformed, "fragment beyond the last fragment's end");
  } else if (datagram.total_length && end > *datagram.total_length) {
    return fail(Errc::malformed, "fragment beyond the last fragment's end");
  }

  // Pieces are sorted and disjoint: only the neighbours around the insertion point can overlap.
  auto position = std::lower_bound(datagram.pieces.begin(), datagram.pieces.end(), offset,
                                   [](const Piece& piece, std::uint32_t at) { return piece.offset < at; });
  bool duplicate = position != datagram.pieces.end() && position->offset == offset && position->length == length &&
                   std::memcmp(datagram.buffer.data().data() + offset, payload.data(), length) == 0;
  if (!duplicate) {
    if (position != datagram.pieces.end() && position->offset < end)
      return fail(Errc::malformed, "overlapping fragments");
    if (position != datagram.pieces.begin() && std::prev(position)->offset + std::prev(position)->length > offset)
      return fail(Errc::malformed, "overlapping fragments");
    if (datagram.pieces.size() >= m_limits.max_fragments) return fail(Errc::limit_reached, "too many fragments");
  }
  // A duplicate may still be the first copy of the piece to say it is the last one.
  if (!header.more_fragments) datagram.total_length = end;
  if (!duplicate) {
    TRY(reserve(datagram, end));
    std::memcpy(datagram.buffer.data().data() + offset, payload.data(), length);
    datagram.pieces.insert(position, Piece{offset, length});
    datagram.received += length;
  }

  if (!datagram.total_length || datagram.received != *datagram.total_length) return std::optional<PacketBuffer>{};
  TRY(datagram.buffer.truncate(*datagram.total_length));
  return std::optional<PacketBuffer>{std::move(datagram.buffer)};
}

} // namespace morgana::net
