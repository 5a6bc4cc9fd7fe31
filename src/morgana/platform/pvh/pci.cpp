#include "morgana/platform/pvh/pci.h"

namespace morgana::pvh::pci {
namespace {

constexpr std::uint16_t command_io = 1u << 0, command_memory = 1u << 1, command_bus_master = 1u << 2,
                        command_interrupt_disable = 1u << 10;
constexpr std::uint16_t status_capabilities = 1u << 4;
constexpr std::uint8_t header_multi_function = 0x80;

// 6.2.5.1: BAR encodings.
constexpr std::uint32_t bar_io = 0x1, bar_type_mask = 0x6, bar_type_64 = 0x4;
constexpr std::uint64_t four_gib = std::uint64_t{4} << 30;

// 6.8.2: MSI-X capability and table.
constexpr std::uint8_t capability_msix = 0x11;
constexpr std::uint8_t msix_message_control = 2, msix_table = 4;
constexpr std::uint16_t msix_enable = 1u << 15, msix_function_mask = 1u << 14, msix_table_size_mask = 0x7ff;
constexpr std::size_t msix_entry_size = 16;
constexpr std::size_t msix_address_low = 0, msix_address_high = 4, msix_data = 8, msix_vector_control = 12;
constexpr std::uint32_t msix_masked = 1u << 0;
// Intel SDM vol. 3, 11.11.1: the MSI address for a physical destination APIC ID.
constexpr std::uint32_t msi_address_base = 0xfee00000;

constexpr int max_capabilities = 48; // bounds the walk over a looping list

} // namespace

void Address::format(FormatSink& sink) const { format_to(sink, "{}:{}.{}", Hex{bus, 2}, Hex{device, 2}, function); }

std::vector<Function> enumerate(ConfigSpace& config) {
  std::vector<Function> functions;
  if (!config.present()) return functions;
  for (unsigned bus = 0; bus < 256; ++bus) {
    for (std::uint8_t device = 0; device < 32; ++device) {
      Address first{static_cast<std::uint8_t>(bus), device, 0};
      if (config.read16(first, 0) == 0xffff) continue;
      std::uint8_t function_count = (config.read8(first, config_header_type) & header_multi_function) ? 8 : 1;
      for (std::uint8_t function = 0; function < function_count; ++function) {
        Address address{static_cast<std::uint8_t>(bus), device, function};
        auto ids = config.read32(address, 0);
        if ((ids & 0xffff) == 0xffff) continue;
        functions.push_back({address, static_cast<std::uint16_t>(ids), static_cast<std::uint16_t>(ids >> 16)});
      }
    }
  }
  return functions;
}

std::optional<BarInfo> decode_bar(ConfigSpace& config, Address address, std::uint8_t index) {
  if (index > 5) return std::nullopt;
  auto offset = static_cast<std::uint8_t>(config_bar0 + 4 * index);
  auto low = config.read32(address, offset);
  if (low & bar_io) {
    auto port = low & ~std::uint32_t{0x3};
    if (port == 0) return std::nullopt;
    return BarInfo{true, false, port};
  }
  BarInfo info{false, (low & bar_type_mask) == bar_type_64, low & ~std::uint32_t{0xf}};
  if (info.wide) {
    if (index == 5) return std::nullopt;
    info.base |= std::uint64_t{config.read32(address, static_cast<std::uint8_t>(offset + 4))} << 32;
  }
  if (info.base == 0) return std::nullopt;
  return info;
}

std::optional<Registers> bar(ConfigSpace& config, Address address, std::uint8_t index) {
  auto info = decode_bar(config, address, index);
  if (!info) return std::nullopt;
  if (info->io) {
    if (info->base > 0xffff) return std::nullopt;
    return Registers::ports(static_cast<std::uint16_t>(info->base));
  }
  if (info->base >= four_gib) return std::nullopt;
  return Registers::memory(info->base);
}

std::uint8_t find_capability(ConfigSpace& config, Address address, std::uint8_t id, std::uint8_t after) {
  if (!(config.read16(address, config_status) & status_capabilities)) return 0;
  std::uint8_t offset =
      after ? config.read8(address, static_cast<std::uint8_t>(after + 1)) : config.read8(address, config_capabilities);
  for (int i = 0; i < max_capabilities && offset >= 0x40; ++i) {
    offset &= 0xfc;
    if (config.read8(address, offset) == id) return offset;
    offset = config.read8(address, static_cast<std::uint8_t>(offset + 1));
  }
  return 0;
}

void enable(ConfigSpace& config, Address address) {
  auto command = config.read16(address, config_command);
  config.write16(address, config_command, command | command_io | command_memory | command_bus_master);
}

Result<void> enable_msix(ConfigSpace& config, Address address, std::uint8_t vector, std::uint8_t apic_id) {
  auto capability = find_capability(config, address, capability_msix);
  if (!capability) return fail(Errc::unsupported, "no MSI-X capability");
  auto control = config.read16(address, static_cast<std::uint8_t>(capability + msix_message_control));
  auto table_location = config.read32(address, static_cast<std::uint8_t>(capability + msix_table));
  auto table_bar = bar(config, address, static_cast<std::uint8_t>(table_location & 0x7));
  if (!table_bar || table_bar->is_ports()) return fail(Errc::unsupported, "MSI-X table not in a mapped memory BAR");
  auto table = table_bar->at(table_location & ~std::uint32_t{0x7});
  std::size_t entries = (control & msix_table_size_mask) + 1u;

  // Masked as a whole while the table is written, then opened.
  config.write16(address, static_cast<std::uint8_t>(capability + msix_message_control),
                 static_cast<std::uint16_t>(control | msix_enable | msix_function_mask));
  for (std::size_t entry = 0; entry < entries; ++entry) {
    auto offset = entry * msix_entry_size;
    table.write32(offset + msix_vector_control, msix_masked);
    if (entry != 0) continue;
    table.write32(offset + msix_address_low, msi_address_base | std::uint32_t{apic_id} << 12);
    table.write32(offset + msix_address_high, 0);
    table.write32(offset + msix_data, vector); // fixed delivery, edge
    table.write32(offset + msix_vector_control, 0);
  }
  auto command = config.read16(address, config_command);
  config.write16(address, config_command, command | command_interrupt_disable);
  config.write16(address, static_cast<std::uint8_t>(capability + msix_message_control),
                 static_cast<std::uint16_t>((control | msix_enable) & ~msix_function_mask));
  return {};
}

} // namespace morgana::pvh::pci
