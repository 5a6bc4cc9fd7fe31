#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana {

// Kept out of this header: the platform interface includes it, and the pvh C
// library must not see <cstring>.
class ByteReader;
class ByteWriter;

// An Ethernet address: what a platform reports for its network device and
// what the stack puts in frames.

struct MacAddress {
  std::array<std::uint8_t, 6> octets{};

  static MacAddress from(const std::uint8_t* six) {
    MacAddress mac;
    for (int i = 0; i < 6; ++i) mac.octets[i] = six[i];
    return mac;
  }
  static constexpr MacAddress broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  static constexpr MacAddress zero() { return {}; }

  [[nodiscard]] Result<void> read(ByteReader& reader);
  void write(ByteWriter& writer) const;

  [[nodiscard]] bool is_broadcast() const { return *this == broadcast(); }
  [[nodiscard]] bool is_multicast() const { return octets[0] & 1; }
  void format(FormatSink& sink) const;
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

// "52:54:00:12:34:56"
[[nodiscard]] Result<void> parse_value(std::string_view text, MacAddress& out);

} // namespace morgana
