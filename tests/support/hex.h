#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace morgana::test_support {

// Bytes from lowercase hex pairs; spaces between pairs are ignored ("45 00 00 1c").
inline std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); ++i) {
    if (hex[i] == ' ') continue;
    out.push_back(std::byte(digit(hex[i]) * 16 + digit(hex[i + 1])));
    ++i;
  }
  return out;
}

} // namespace morgana::test_support
