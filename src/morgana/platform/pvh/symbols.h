#pragma once

// Function names for backtraces, from the table that cmake/pvh_link.py embeds
// in section .pvh_symbols at build time (sorted start addresses and names).

#include <cstdint>
#include <optional>
#include <string_view>

namespace morgana::pvh::symbols {

struct Location {
  std::string_view function;
  std::uint64_t offset; // of the address from the function's first byte
};

// The function whose code holds `address`; none outside the image's text or
// when the image has no table.
std::optional<Location> find(std::uint64_t address);

} // namespace morgana::pvh::symbols
