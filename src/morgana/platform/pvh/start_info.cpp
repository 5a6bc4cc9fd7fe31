#include "morgana/platform/pvh/start_info.h"

#include <cstring>

#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh {
namespace {

// The loader's layout (start_info.h in Xen's public headers).
struct RawStartInfo {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t flags;
  std::uint32_t nr_modules;
  std::uint64_t modlist_paddr;
  std::uint64_t cmdline_paddr;
  std::uint64_t rsdp_paddr;
  std::uint64_t memmap_paddr; // version 1 on
  std::uint32_t memmap_entries;
  std::uint32_t reserved;
};
struct RawMemmapEntry {
  std::uint64_t addr;
  std::uint64_t size;
  std::uint32_t type;
  std::uint32_t reserved;
};

constexpr std::uint32_t start_info_magic = 0x336ec578;
constexpr std::size_t max_command_line = 4096;
constexpr std::size_t max_regions = 128;

char g_command_line[max_command_line];
MemoryRegion g_regions[max_regions];

template <class T>
T read_physical(std::uint64_t address) {
  T value;
  std::memcpy(&value, x86::physical<const void>(address), sizeof value);
  return value;
}

} // namespace

StartInfo read_start_info(std::uint64_t address) {
  auto raw = read_physical<RawStartInfo>(address);
  if (raw.magic != start_info_magic) platform::abort("not started by a PVH loader: bad hvm_start_info magic");
  if (raw.version < 1 || raw.memmap_entries == 0) platform::abort("the PVH loader gave no memory map");

  StartInfo info{};
  if (raw.cmdline_paddr) {
    const auto* text = x86::physical<const char>(raw.cmdline_paddr);
    std::size_t length = 0;
    while (length < max_command_line - 1 && text[length] != '\0') ++length;
    std::memcpy(g_command_line, text, length);
    info.command_line = {g_command_line, length};
  }
  std::size_t count = raw.memmap_entries < max_regions ? raw.memmap_entries : max_regions;
  for (std::size_t i = 0; i < count; ++i) {
    auto entry = read_physical<RawMemmapEntry>(raw.memmap_paddr + i * sizeof(RawMemmapEntry));
    g_regions[i] = {entry.addr, entry.size, entry.type};
  }
  info.memory_map = {g_regions, count};
  info.rsdp_address = raw.rsdp_paddr;
  return info;
}

} // namespace morgana::pvh
