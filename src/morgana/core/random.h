#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"

namespace morgana::random {

// Cryptographically strong random bytes: ChaCha20 keyed from platform entropy
// on first use and rekeyed after every request (fast key erasure). Fails with
// Errc::no_entropy where the platform has no entropy source.
[[nodiscard]] Result<void> fill(MutableBytes buffer);
[[nodiscard]] Result<std::uint32_t> u32();
[[nodiscard]] Result<std::uint16_t> u16();

// The ChaCha20 block function (RFC 8439 §2.3), exposed for its test vectors.
void chacha20_block(const std::uint32_t key[8], std::uint32_t counter, const std::uint32_t nonce[3],
                    std::uint8_t out[64]);

// Forgets the key so the next request reseeds (tests; after fork-like events).
void reset();

} // namespace morgana::random
