#pragma once

// Name-based UUIDs (RFC 4122 §4.3, version 5: SHA-1), as the blog's feed
// gives its entries ids that stay the same from one render to the next.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace morgana::blog {

struct Uuid {
  std::array<std::uint8_t, 16> bytes{};

  // Lowercase 8-4-4-4-12 hex (RFC 4122 §3), e.g. "6ba7b810-9dad-11d1-80b4-00c04fd430c8".
  [[nodiscard]] std::string to_string() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// The name space for fully qualified domain names (RFC 4122 Appendix C).
inline constexpr Uuid dns_namespace{
    {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}};

// The version 5 UUID of `name` in `name_space` (RFC 4122 §4.3): SHA-1 of the
// name space's 16 bytes then the name's bytes, truncated to 16 bytes, with the
// version and variant bits set.
[[nodiscard]] Uuid uuid_v5(const Uuid& name_space, std::string_view name);

} // namespace morgana::blog
