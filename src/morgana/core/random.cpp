#include "morgana/core/random.h"

#include <cstring>

#include "morgana/platform/interface.h"

namespace morgana::random {
namespace {

constexpr std::uint32_t rotl(std::uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

void quarter_round(std::uint32_t* s, int a, int b, int c, int d) {
  s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 16);
  s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 12);
  s[a] += s[b], s[d] = rotl(s[d] ^ s[a], 8);
  s[c] += s[d], s[b] = rotl(s[b] ^ s[c], 7);
}

struct Generator {
  std::uint32_t key[8];
  bool seeded = false;
};
constinit Generator g_generator{};

Result<void> seed() {
  std::byte material[32];
  TRY(platform::entropy(material));
  std::memcpy(g_generator.key, material, sizeof material);
  std::memset(material, 0, sizeof material);
  g_generator.seeded = true;
  return {};
}

} // namespace

void chacha20_block(const std::uint32_t key[8], std::uint32_t counter, const std::uint32_t nonce[3],
                    std::uint8_t out[64]) {
  std::uint32_t state[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  std::memcpy(state + 4, key, 32);
  state[12] = counter;
  std::memcpy(state + 13, nonce, 12);
  std::uint32_t working[16];
  std::memcpy(working, state, sizeof state);
  for (int round = 0; round < 10; ++round) {
    quarter_round(working, 0, 4, 8, 12);
    quarter_round(working, 1, 5, 9, 13);
    quarter_round(working, 2, 6, 10, 14);
    quarter_round(working, 3, 7, 11, 15);
    quarter_round(working, 0, 5, 10, 15);
    quarter_round(working, 1, 6, 11, 12);
    quarter_round(working, 2, 7, 8, 13);
    quarter_round(working, 3, 4, 9, 14);
  }
  for (int i = 0; i < 16; ++i) {
    std::uint32_t word = working[i] + state[i];
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<std::uint8_t>(word >> (8 * b));
  }
}

Result<void> fill(MutableBytes buffer) {
  if (!g_generator.seeded) TRY(seed());
  const std::uint32_t nonce[3] = {0, 0, 0};
  std::uint8_t block[64];
  // Block 0 becomes the next key; blocks 1.. are output.
  chacha20_block(g_generator.key, 0, nonce, block);
  std::uint32_t next_key[8];
  std::memcpy(next_key, block, 32);
  std::uint32_t counter = 1;
  for (std::size_t done = 0; done < buffer.size(); done += 64) {
    chacha20_block(g_generator.key, counter++, nonce, block);
    auto n = buffer.size() - done < 64 ? buffer.size() - done : 64;
    std::memcpy(buffer.data() + done, block, n);
  }
  std::memcpy(g_generator.key, next_key, sizeof next_key);
  std::memset(block, 0, sizeof block);
  std::memset(next_key, 0, sizeof next_key);
  return {};
}

Result<std::uint32_t> u32() {
  std::byte bytes[4];
  TRY(fill(bytes));
  return load_be32(bytes);
}

Result<std::uint16_t> u16() {
  std::byte bytes[2];
  TRY(fill(bytes));
  return load_be16(bytes);
}

void reset() { g_generator = {}; }

} // namespace morgana::random
