#include "morgana/platform/pvh/symbols.h"

#include <cstring>

#include "morgana/platform/pvh/image.h"

namespace morgana::pvh::symbols {
namespace {

constexpr std::uint32_t table_magic = 0x4d59534d; // "MSYM", as cmake/pvh_link.py writes it

// The table is ours, written at build time, but its bounds are still checked:
// a missing or cut table (the first of the two links) yields no names.
std::uint32_t read_u32(std::size_t offset) {
  std::uint32_t value;
  std::memcpy(&value, pvh_symbols_start + offset, sizeof value);
  return value;
}

} // namespace

std::optional<Location> find(std::uint64_t address) {
  const auto table_size = static_cast<std::size_t>(pvh_symbols_end - pvh_symbols_start);
  if (table_size < 8 || read_u32(0) != table_magic) return std::nullopt;
  const std::size_t count = read_u32(4), addresses = 8, name_offsets = addresses + 4 * count,
                    pool = name_offsets + 4 * count;
  if (count == 0 || pool > table_size) return std::nullopt;
  if (address < read_u32(addresses) || address >= image::text_end()) return std::nullopt;
  // Binary search for the last function starting at or below `address`.
  std::size_t low = 0, high = count;
  while (high - low > 1) {
    std::size_t middle = low + (high - low) / 2;
    if (read_u32(addresses + 4 * middle) <= address) low = middle;
    else high = middle;
  }
  std::size_t name = pool + read_u32(name_offsets + 4 * low);
  if (name >= table_size) return std::nullopt;
  const char* text = pvh_symbols_start + name;
  return Location{std::string_view(text, strnlen(text, table_size - name)), address - read_u32(addresses + 4 * low)};
}

} // namespace morgana::pvh::symbols
