#include "morgana/platform/pvh/acpi.h"

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::acpi {
namespace {

constexpr std::uint64_t four_gib = std::uint64_t{4} << 30; // what paging maps besides RAM

// Physical memory below 4 GiB, identity mapped.
class IdentityMemory final : public Memory {
public:
  constexpr IdentityMemory() = default;
  Bytes read(std::uint64_t address, std::size_t size) const override {
    if (address == 0 || address >= four_gib || size > four_gib - address) return {};
    return {x86::physical<const std::byte>(address), size};
  }
};

struct State {
  bool initialised = false;
  IdentityMemory memory;
  Tables tables{memory};
};
constinit State g_state{};

} // namespace

void init(std::uint64_t rsdp_address) {
  if (g_state.initialised) return;
  g_state.initialised = true;
  g_state.tables = Tables::locate(g_state.memory, rsdp_address);
}

Bytes find_table(std::string_view signature) { return g_state.tables.find_table(signature); }

std::optional<std::uint32_t> memory_resource_interrupt(std::uint64_t base) {
  return g_state.tables.memory_resource_interrupt(base);
}

} // namespace morgana::pvh::acpi
