#pragma once

// A git object name: the SHA-1 of "<type> <size>\0<content>" (gitformat-
// signature aside, the only object format Morgana reads). SHA-256
// repositories (git's "objectformat=sha256") are refused where they show up:
// a 64-digit id, or the object-format capability checked by the wire layer
// through parse_object_format().

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::git {

enum class ObjectFormat : std::uint8_t { sha1 };

// "sha1" → ObjectFormat::sha1; "sha256" → Errc::unsupported; anything else Errc::malformed.
[[nodiscard]] Result<ObjectFormat> parse_object_format(std::string_view name);

class ObjectId {
public:
  static constexpr std::size_t size = 20;
  static constexpr std::size_t hex_size = 2 * size;

  constexpr ObjectId() = default;
  // From 20 raw bytes (tree entries, REF_DELTA bases, pack trailers).
  [[nodiscard]] static Result<ObjectId> from_bytes(Bytes raw);
  // From 40 lowercase or uppercase hex digits; 64 digits (SHA-256) → Errc::unsupported.
  [[nodiscard]] static Result<ObjectId> parse_hex(std::string_view hex);

  [[nodiscard]] Bytes bytes() const { return {reinterpret_cast<const std::byte*>(m_raw.data()), size}; }
  [[nodiscard]] std::array<char, hex_size> hex_digits() const;
  [[nodiscard]] std::string to_hex() const;
  [[nodiscard]] bool is_zero() const { return *this == ObjectId(); }
  void format(FormatSink& sink) const;

  // A well-mixed word for hash maps: SHA-1's own bytes.
  [[nodiscard]] std::size_t hash() const {
    std::size_t word = 0;
    std::memcpy(&word, m_raw.data(), sizeof word);
    return word;
  }

  friend constexpr auto operator<=>(const ObjectId&, const ObjectId&) = default;
  friend constexpr bool operator==(const ObjectId&, const ObjectId&) = default;

private:
  std::array<std::uint8_t, size> m_raw{};
};

struct ObjectIdHash {
  std::size_t operator()(const ObjectId& id) const { return id.hash(); }
};

} // namespace morgana::git

template <>
struct std::hash<morgana::git::ObjectId> {
  std::size_t operator()(const morgana::git::ObjectId& id) const { return id.hash(); }
};
