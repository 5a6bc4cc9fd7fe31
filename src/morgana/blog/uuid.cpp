#include "morgana/blog/uuid.h"

#include <bearssl.h>

namespace morgana::blog {

std::string Uuid::to_string() const {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    // Dashes before the 5th, 7th, 9th and 11th bytes: 8-4-4-4-12 hex digits.
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0x0f];
  }
  return out;
}

Uuid uuid_v5(const Uuid& name_space, std::string_view name) {
  br_sha1_context context;
  br_sha1_init(&context);
  br_sha1_update(&context, name_space.bytes.data(), name_space.bytes.size());
  br_sha1_update(&context, name.data(), name.size());
  std::array<std::uint8_t, br_sha1_SIZE> digest;
  br_sha1_out(&context, digest.data());

  Uuid uuid;
  for (std::size_t i = 0; i < uuid.bytes.size(); ++i) uuid.bytes[i] = digest[i];
  uuid.bytes[6] = static_cast<std::uint8_t>((uuid.bytes[6] & 0x0f) | 0x50); // version 5 (§4.1.3)
  uuid.bytes[8] = static_cast<std::uint8_t>((uuid.bytes[8] & 0x3f) | 0x80); // the RFC 4122 variant (§4.1.1)
  return uuid;
}

} // namespace morgana::blog
