// Drives one reassembler with a stream of fragments taken from the input. Per
// fragment, three control bytes:
//   flags:  bits 0-2 datagram key, bit 3 MF, bits 4-5 clock step, bit 6 expire() first,
//           bit 7 forged (payload from the input instead of the datagram's pattern)
//   offset: in 8-byte units
//   length: (bits 0-5) * 8 bytes, minus bits 6-7 (so most lengths are multiples of 8)
// then, for a forged fragment, up to `length` payload bytes.
// Checks that the table stays within its limit, that every reassembled datagram
// is as long as its last fragment said and holds the completing fragment's bytes
// at its offset, and that a datagram built only from pattern bytes equals the pattern.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "morgana/core/bytes.h"
#include "morgana/net/ipv4_reassembly.h"

using namespace morgana;
using namespace morgana::net;

namespace {

constexpr std::size_t key_count = 8;
constexpr std::size_t largest_end = 255 * 8 + 63 * 8;

void check(bool condition) {
  if (!condition) std::abort();
}

std::byte pattern_byte(std::size_t key, std::size_t position) {
  return std::byte(static_cast<std::uint8_t>(position * 31 + key * 101 + (position >> 8)));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Ipv4Reassembler::Limits limits{
      .max_datagrams = 4, .max_fragments = 24, .max_payload = 2048, .timeout = std::chrono::milliseconds(500)};
  constexpr std::array<int, 4> clock_steps_ms{0, 10, 100, 1000};
  Ipv4Reassembler reassembler(limits);
  // Per key: the end set by the most recent accepted last fragment, and whether a forged fragment was accepted.
  std::array<std::optional<std::uint32_t>, key_count> declared_end{};
  std::array<bool, key_count> forged_accepted{};
  Instant now{};
  std::array<std::byte, largest_end> pattern_payload;

  ByteReader reader(Bytes(reinterpret_cast<const std::byte*>(data), size));
  while (reader.remaining() >= 3) {
    auto flags = *reader.u8();
    auto offset = static_cast<std::uint16_t>(*reader.u8() * 8);
    auto length_byte = *reader.u8();
    std::size_t length = (length_byte & 0x3f) * 8;
    length -= std::min<std::size_t>(length, length_byte >> 6);

    std::size_t key = flags & 0x7;
    bool forged = flags & 0x80;
    Bytes payload;
    if (forged) {
      payload = reader.bytes(std::min(length, reader.remaining())).value();
    } else {
      for (std::size_t i = 0; i < length; ++i) pattern_payload[i] = pattern_byte(key, offset + i);
      payload = Bytes(pattern_payload).first(length);
    }

    Ipv4Header header;
    header.identification = static_cast<std::uint16_t>(key & 0x3);
    header.protocol = (key & 0x4) ? ip_protocol::udp : ip_protocol::icmp;
    header.source = Ipv4Address::from_octets(192, 0, 2, 1);
    header.destination = Ipv4Address::from_octets(192, 0, 2, 2);
    header.more_fragments = flags & 0x8;
    header.fragment_offset = offset;

    now += std::chrono::milliseconds(clock_steps_ms[(flags >> 4) & 0x3]);
    if (flags & 0x40) reassembler.expire(now);

    auto result = reassembler.add(header, payload, now);
    check(reassembler.in_progress() <= limits.max_datagrams);
    if (!result) {
      check(!result.error().context.empty());
      continue;
    }
    if (forged) forged_accepted[key] = true;
    if (!header.more_fragments) declared_end[key] = offset + static_cast<std::uint32_t>(payload.size());
    if (!*result) continue;

    const PacketBuffer& datagram = **result;
    check(declared_end[key].has_value());
    check(datagram.size() == *declared_end[key]);
    check(datagram.size() <= limits.max_payload);
    check(datagram.headroom() == PacketBuffer::default_headroom);
    check(offset + payload.size() <= datagram.size());
    check(std::memcmp(datagram.data().data() + offset, payload.data(), payload.size()) == 0);
    // Branching on how the datagram came together gives the fuzzer an edge for multi-fragment datagrams.
    bool from_several = datagram.size() > payload.size();
    if (from_several && !forged_accepted[key])
      for (std::size_t i = 0; i < datagram.size(); ++i) check(datagram.data()[i] == pattern_byte(key, i));
  }
  return 0;
}
