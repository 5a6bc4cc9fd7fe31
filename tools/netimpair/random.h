#pragma once

#include <array>
#include <cstdint>

namespace netimpair {

// xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64: the same
// sequence on every machine and build, so a seed replays a run's decisions.
class Random {
public:
  explicit Random(std::uint64_t seed) {
    for (auto& word : m_state) word = splitmix64(seed);
  }

  std::uint64_t next() {
    std::uint64_t result = rotate_left(m_state[1] * 5, 7) * 9;
    std::uint64_t t = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= t;
    m_state[3] = rotate_left(m_state[3], 45);
    return result;
  }

  // Uniform in [0, 1), from the top 53 bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  static std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

private:
  static std::uint64_t rotate_left(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::array<std::uint64_t, 4> m_state{};
};

} // namespace netimpair
