#include "morgana/platform/pvh/pci.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::pci {
namespace {

// PCI Local Bus 3.0, 3.2.2.3.2: CONFIG_ADDRESS and CONFIG_DATA.
constexpr std::uint16_t config_address = 0xcf8, config_data = 0xcfc;
constexpr std::uint32_t config_enable = 1u << 31;

class PortConfigSpace final : public ConfigSpace {
public:
  bool present() override {
    // A host bridge latches the enable bit in CONFIG_ADDRESS; nothing there reads all ones.
    x86::outl(config_address, config_enable);
    return x86::inl(config_address) == config_enable;
  }
  std::uint32_t read32(Address address, std::uint8_t offset) override {
    select(address, offset);
    return x86::inl(config_data);
  }
  void write32(Address address, std::uint8_t offset, std::uint32_t value) override {
    select(address, offset);
    x86::outl(config_data, value);
  }
  void write16(Address address, std::uint8_t offset, std::uint16_t value) override {
    select(address, offset);
    x86::outw(static_cast<std::uint16_t>(config_data + (offset & 2)), value);
  }

private:
  static void select(Address address, std::uint8_t offset) {
    x86::outl(config_address, config_enable | std::uint32_t{address.bus} << 16 | std::uint32_t{address.device} << 11 |
                                  std::uint32_t{address.function} << 8 | (offset & 0xfcu));
  }
};

constinit PortConfigSpace g_config_space;

} // namespace

ConfigSpace& port_config_space() { return g_config_space; }

} // namespace morgana::pvh::pci
