#pragma once

// Immutable bytes with shared ownership: what a key-value store hands out (a
// file crunched into the image, a rendered page, a git blob), an HTTP body,
// and what a stream may send by reference (net::Stream::write_shared). The
// bytes must not change while anyone holds them; `owner` keeps them alive, so
// TCP can keep a body until the peer acknowledges it without copying it.

#include <cstddef>
#include <memory>

#include "morgana/core/bytes.h"

namespace morgana {

struct SharedBytes {
  Bytes data;
  // Keeps `data` alive; null when it points into static storage (the image's
  // read-only data, string literals).
  std::shared_ptr<const void> owner;

  [[nodiscard]] std::size_t size() const { return data.size(); }
  // The bytes [offset, offset + length) with the same owner.
  [[nodiscard]] SharedBytes slice(std::size_t offset, std::size_t length) const {
    return {data.subspan(offset, length), owner};
  }
};

} // namespace morgana
