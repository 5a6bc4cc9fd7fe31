#include "segment.h"

#include <algorithm>
#include <cstdint>

namespace netimpair {
namespace {

constexpr std::size_t ethernet_header = 14;
constexpr std::uint8_t tcp_fin = 0x01, tcp_psh = 0x08, tcp_cwr = 0x80;

std::uint16_t load16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
void store16(std::byte* p, std::uint16_t value) {
  p[0] = std::byte(value >> 8);
  p[1] = std::byte(value & 0xff);
}
std::uint32_t load32(const std::byte* p) { return (std::uint32_t{load16(p)} << 16) | load16(p + 2); }
void store32(std::byte* p, std::uint32_t value) {
  store16(p, static_cast<std::uint16_t>(value >> 16));
  store16(p + 2, static_cast<std::uint16_t>(value));
}

// The ones'-complement sum of `data` (RFC 1071), not folded.
std::uint64_t sum(std::span<const std::byte> data) {
  std::uint64_t total = 0;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2) total += load16(data.data() + i);
  if (i < data.size()) total += std::to_integer<unsigned>(data[i]) << 8;
  return total;
}

std::uint16_t complement(std::uint64_t total) {
  while (total >> 16) total = (total & 0xffff) + (total >> 16);
  return static_cast<std::uint16_t>(~total);
}

// Completes a partial checksum in place: the field holds the pseudo-header sum.
void complete_checksum(Frame& frame, std::size_t start, std::size_t offset) {
  if (start + offset + 2 > frame.size()) return;
  std::uint16_t checksum = complement(sum(std::span(frame).subspan(start)));
  // As Linux's skb_checksum_help: 0 goes out as 0xffff (UDP's "no checksum").
  store16(frame.data() + start + offset, checksum == 0 ? 0xffff : checksum);
}

std::vector<Frame> segment_tcp4(std::span<const std::byte> frame, std::size_t segment_size) {
  if (frame.size() < ethernet_header + 20 || load16(frame.data() + 12) != 0x0800) return {};
  std::size_t ip_length = (std::to_integer<std::size_t>(frame[ethernet_header]) & 0x0f) * 4;
  std::size_t tcp_at = ethernet_header + ip_length;
  if (ip_length < 20 || frame.size() < tcp_at + 20) return {};
  std::size_t tcp_length = (std::to_integer<std::size_t>(frame[tcp_at + 12]) >> 4) * 4;
  std::size_t headers = tcp_at + tcp_length;
  if (tcp_length < 20 || frame.size() < headers || segment_size == 0) return {};
  auto payload = frame.subspan(headers);
  std::uint32_t sequence = load32(frame.data() + tcp_at + 4);
  std::uint16_t identification = load16(frame.data() + ethernet_header + 4);
  auto flags = std::to_integer<std::uint8_t>(frame[tcp_at + 13]);
  std::vector<Frame> segments;
  for (std::size_t offset = 0; offset < payload.size(); offset += segment_size) {
    auto piece = payload.subspan(offset, std::min(segment_size, payload.size() - offset));
    bool last = offset + piece.size() == payload.size();
    Frame out(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(headers));
    out.insert(out.end(), piece.begin(), piece.end());
    std::byte* ip = out.data() + ethernet_header;
    store16(ip + 2, static_cast<std::uint16_t>(ip_length + tcp_length + piece.size()));
    store16(ip + 4, static_cast<std::uint16_t>(identification + segments.size()));
    store16(ip + 10, 0);
    store16(ip + 10, complement(sum(std::span(out).subspan(ethernet_header, ip_length))));
    std::byte* tcp = out.data() + tcp_at;
    store32(tcp + 4, sequence + static_cast<std::uint32_t>(offset));
    auto segment_flags = flags;
    if (!last) segment_flags &= static_cast<std::uint8_t>(~(tcp_fin | tcp_psh));
    if (offset != 0) segment_flags &= static_cast<std::uint8_t>(~tcp_cwr);
    tcp[13] = std::byte(segment_flags);
    // The pseudo-header (RFC 9293 §3.1): addresses, protocol, TCP length.
    std::uint64_t pseudo = sum(std::span(out).subspan(ethernet_header + 12, 8)) + 6 + tcp_length + piece.size();
    store16(tcp + 16, 0);
    store16(tcp + 16, complement(pseudo + sum(std::span(out).subspan(tcp_at))));
    segments.push_back(std::move(out));
  }
  return segments;
}

} // namespace

std::vector<Frame> finish_offloads(std::span<const std::byte> frame, const VirtioNetHeader& header) {
  if (header.gso_kind() == VirtioNetHeader::gso_tcpv4) {
    auto segments = segment_tcp4(frame, header.gso_size);
    if (!segments.empty()) return segments;
  }
  Frame whole(frame.begin(), frame.end());
  if (header.flags & VirtioNetHeader::flag_needs_csum) complete_checksum(whole, header.csum_start, header.csum_offset);
  return {std::move(whole)};
}

} // namespace netimpair
