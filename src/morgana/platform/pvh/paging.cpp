#include "morgana/platform/pvh/paging.h"

#include <cstring>

#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/image.h"
#include "morgana/platform/pvh/x86.h"

extern "C" {
extern std::uint8_t pvh_nx_enabled; // set by boot.S when EFER.NXE is on
}

namespace morgana::pvh::paging {
namespace {

constexpr std::uint64_t page_size = 4096;
constexpr std::uint64_t large_page_size = 2 << 20;
constexpr std::uint64_t four_gib = std::uint64_t{4} << 30;

// Intel SDM vol. 3, 4.5: 4-level paging entry bits.
constexpr std::uint64_t present = 1u << 0, writable = 1u << 1, write_through = 1u << 3, cache_disable = 1u << 4,
                        large = 1u << 7, no_execute_bit = std::uint64_t{1} << 63;
constexpr std::uint64_t address_mask = 0x000ffffffffff000;

struct State {
  std::uint64_t* pml4 = nullptr;
  std::uintptr_t next_free = 0;
  std::uintptr_t free_limit = 0;
  std::uint64_t no_execute = 0;
};
constinit State g_state{};

std::uint64_t* allocate_table() {
  if (g_state.next_free + page_size > g_state.free_limit) platform::abort("no RAM left for page tables");
  auto* table = x86::physical<std::uint64_t>(g_state.next_free);
  std::memset(table, 0, page_size);
  g_state.next_free += page_size;
  return table;
}

// The entry for `address` in the table one level down from `table`, creating it.
std::uint64_t* next_level(std::uint64_t* table, std::uint64_t address, int shift) {
  auto& entry = table[(address >> shift) & 511];
  if (!(entry & present)) entry = reinterpret_cast<std::uint64_t>(allocate_table()) | present | writable;
  return x86::physical<std::uint64_t>(entry & address_mask);
}

void map_page(std::uint64_t address, std::uint64_t flags) {
  auto* pdpt = next_level(g_state.pml4, address, 39);
  auto* pd = next_level(pdpt, address, 30);
  auto* pt = next_level(pd, address, 21);
  pt[(address >> 12) & 511] = address | flags;
}

void map_large_page(std::uint64_t address, std::uint64_t flags) {
  auto* pdpt = next_level(g_state.pml4, address, 39);
  auto* pd = next_level(pdpt, address, 30);
  pd[(address >> 21) & 511] = address | flags | large;
}

bool overlaps_ram(std::span<const MemoryRegion> memory_map, std::uint64_t start, std::uint64_t size) {
  for (const auto& region : memory_map)
    if (region.is_ram() && region.address < start + size && start < region.end()) return true;
  return false;
}

constexpr std::uint64_t align_up(std::uint64_t value, std::uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

std::uint64_t flags_for_small_page(std::uint64_t address) {
  if (address >= image::start() && address < image::text_end()) return present;
  if (address >= image::text_end() && address < image::rodata_end()) return present | g_state.no_execute;
  // The embedded symbol table (linker.ld places it after the stack) is read-only too.
  if (address >= image::symbols_start() && address < image::symbols_end()) return present | g_state.no_execute;
  return present | writable | g_state.no_execute;
}

} // namespace

std::uintptr_t init(std::span<const MemoryRegion> memory_map, std::uintptr_t free_start) {
  g_state.no_execute = pvh_nx_enabled ? no_execute_bit : 0;
  g_state.next_free = static_cast<std::uintptr_t>(align_up(free_start, page_size));
  g_state.free_limit = g_state.next_free;
  for (const auto& region : memory_map)
    if (region.is_ram() && region.address <= g_state.next_free && g_state.next_free < region.end())
      g_state.free_limit = static_cast<std::uintptr_t>(region.end());
  g_state.pml4 = allocate_table();

  const std::uint64_t uncached = write_through | cache_disable;
  // 4-KiB pages up to the 2-MiB boundary after the image: the permissions differ page by page.
  const std::uint64_t fine_end = align_up(image::end(), large_page_size);
  for (std::uint64_t address = page_size; address < fine_end; address += page_size) {
    if (address >= image::stack_guard() && address < image::stack_bottom()) continue;
    auto flags = flags_for_small_page(address);
    if (!overlaps_ram(memory_map, address, page_size)) flags |= uncached;
    map_page(address, flags);
  }
  // 2-MiB pages above: the first 4 GiB (RAM, and device registers below 4 GiB), and RAM beyond.
  std::uint64_t top = four_gib;
  for (const auto& region : memory_map)
    if (region.is_ram() && region.end() > top) top = align_up(region.end(), large_page_size);
  for (std::uint64_t address = fine_end; address < top; address += large_page_size) {
    bool ram = overlaps_ram(memory_map, address, large_page_size);
    if (address >= four_gib && !ram) continue;
    map_large_page(address, present | writable | g_state.no_execute | (ram ? 0 : uncached));
  }
  x86::write_cr3(reinterpret_cast<std::uint64_t>(g_state.pml4));
  return g_state.next_free;
}

std::string_view describe(std::uintptr_t address) {
  if (address < page_size) return "the null page (unmapped)";
  if (address >= image::stack_guard() && address < image::stack_bottom())
    return "the stack's guard page (unmapped): stack overflow";
  if (address >= image::start() && address < image::text_end()) return "text (read-only, executable)";
  if (address >= image::text_end() && address < image::rodata_end()) return "read-only data";
  if (address >= image::stack_bottom() && address < image::stack_top()) return "the stack";
  if (address >= image::rodata_end() && address < image::end()) return "data";
  return "";
}

} // namespace morgana::pvh::paging
