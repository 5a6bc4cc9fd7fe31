#include "morgana/platform/pvh/pci.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <tuple>

#include "morgana/platform/pvh/virtio_pci.h"

namespace morgana::pvh::pci {
namespace {

// Configuration spaces held in memory, 256 bytes per function; reads of
// absent functions give all ones, as on a real bus.
class FakeConfigSpace final : public ConfigSpace {
public:
  using Space = std::array<std::uint8_t, 256>;

  bool bridge = true;

  Space& add(Address address, std::uint16_t vendor_id, std::uint16_t device_id) {
    auto& space = m_functions[key(address)];
    space.fill(0);
    set16(address, 0, vendor_id);
    set16(address, 2, device_id);
    return space;
  }
  void set8(Address address, std::uint8_t offset, std::uint8_t value) { m_functions.at(key(address))[offset] = value; }
  void set16(Address address, std::uint8_t offset, std::uint16_t value) {
    set8(address, offset, static_cast<std::uint8_t>(value));
    set8(address, static_cast<std::uint8_t>(offset + 1), static_cast<std::uint8_t>(value >> 8));
  }
  void set32(Address address, std::uint8_t offset, std::uint32_t value) {
    set16(address, offset, static_cast<std::uint16_t>(value));
    set16(address, static_cast<std::uint8_t>(offset + 2), static_cast<std::uint16_t>(value >> 16));
  }
  // Links a capability with `id` at `offset` to the end of the list.
  void add_capability(Address address, std::uint8_t offset, std::uint8_t id) {
    set16(address, config_status, static_cast<std::uint16_t>(read16(address, config_status) | 0x10));
    set8(address, offset, id);
    set8(address, static_cast<std::uint8_t>(offset + 1), 0);
    auto& last = m_last_capability[key(address)];
    set8(address, last ? static_cast<std::uint8_t>(last + 1) : config_capabilities, offset);
    last = offset;
  }

  bool present() override { return bridge; }
  std::uint32_t read32(Address address, std::uint8_t offset) override {
    auto found = m_functions.find(key(address));
    if (found == m_functions.end()) return 0xffffffff;
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) value = value << 8 | found->second[(offset & 0xfc) + i];
    return value;
  }
  void write32(Address address, std::uint8_t offset, std::uint32_t value) override {
    set32(address, static_cast<std::uint8_t>(offset & 0xfc), value);
  }
  void write16(Address address, std::uint8_t offset, std::uint16_t value) override {
    set16(address, static_cast<std::uint8_t>(offset & 0xfe), value);
  }

private:
  static std::tuple<int, int, int> key(Address address) { return {address.bus, address.device, address.function}; }
  std::map<std::tuple<int, int, int>, Space> m_functions;
  std::map<std::tuple<int, int, int>, std::uint8_t> m_last_capability;
};

constexpr Address nic{0, 3, 0};

TEST(PciTest, EnumerateFindsSingleAndMultiFunctionDevices) {
  FakeConfigSpace config;
  config.add({0, 0, 0}, 0x8086, 0x1237);
  config.add(nic, 0x1af4, 0x1000);
  config.add({0, 5, 0}, 0x8086, 0x7000);
  config.set8({0, 5, 0}, config_header_type, 0x80); // multi-function
  config.add({0, 5, 2}, 0x8086, 0x7020);
  config.add({0, 7, 1}, 0x1234, 0x1111); // function 1 of a device without function 0
  config.add({3, 0, 0}, 0x1af4, 0x1041);

  auto functions = enumerate(config);
  ASSERT_EQ(functions.size(), 5u);
  EXPECT_EQ(functions[1].address.device, 3);
  EXPECT_EQ(functions[1].vendor_id, 0x1af4);
  EXPECT_EQ(functions[1].device_id, 0x1000);
  EXPECT_EQ(functions[3].address.device, 5);
  EXPECT_EQ(functions[3].address.function, 2);
  EXPECT_EQ(functions[3].device_id, 0x7020);
  EXPECT_EQ(functions[4].address.bus, 3);

  config.bridge = false;
  EXPECT_TRUE(enumerate(config).empty());
}

TEST(PciTest, AddressFormatsAsBusDeviceFunction) {
  StringBuilder<16> text;
  format_to(text, "{}", Address{0, 0x1f, 3});
  EXPECT_EQ(text.view(), "00:1f.3");
}

TEST(PciTest, NarrowReadsAndWritesWithinTheDword) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1000);
  EXPECT_EQ(config.read16(nic, 2), 0x1000);
  EXPECT_EQ(config.read8(nic, 1), 0x1a);
  config.write16(nic, config_command, 0x0007);
  EXPECT_EQ(config.read16(nic, config_command), 0x0007);
  EXPECT_EQ(config.read16(nic, config_status), 0) << "the other half of the dword untouched";
}

TEST(PciTest, EnableTurnsOnDecodingAndBusMastering) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1000);
  config.set16(nic, config_command, 0x0400);
  enable(config, nic);
  EXPECT_EQ(config.read16(nic, config_command), 0x0407);
}

TEST(PciTest, CapabilityListWalk) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1041);
  EXPECT_EQ(find_capability(config, nic, 0x09), 0) << "no capabilities bit";
  config.add_capability(nic, 0x98, 0x11); // MSI-X
  config.add_capability(nic, 0x84, 0x09); // vendor
  config.add_capability(nic, 0x70, 0x09);
  config.add_capability(nic, 0x60, 0x05); // MSI
  EXPECT_EQ(find_capability(config, nic, 0x11), 0x98);
  EXPECT_EQ(find_capability(config, nic, 0x05), 0x60);
  EXPECT_EQ(find_capability(config, nic, 0x09), 0x84);
  EXPECT_EQ(find_capability(config, nic, 0x09, 0x84), 0x70);
  EXPECT_EQ(find_capability(config, nic, 0x09, 0x70), 0);
  EXPECT_EQ(find_capability(config, nic, 0x10), 0);

  // The two low bits of a pointer are reserved (6.7).
  config.set8(nic, 0x99, 0x87);
  EXPECT_EQ(find_capability(config, nic, 0x09), 0x84);
}

TEST(PciTest, LoopingOrBadCapabilityPointersEndTheWalk) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1041);
  config.add_capability(nic, 0x40, 0x05);
  config.add_capability(nic, 0x50, 0x01);
  config.set8(nic, 0x51, 0x40); // back to the first
  EXPECT_EQ(find_capability(config, nic, 0x11), 0);
  config.set8(nic, 0x51, 0x20); // into the header
  EXPECT_EQ(find_capability(config, nic, 0x11), 0);
}

// decode_bar's reading of BAR `index`, and whether bar() gives registers at that base.
void expect_bar(FakeConfigSpace& config, std::uint8_t index, bool io, bool wide, std::uint64_t base, bool mapped) {
  SCOPED_TRACE(index);
  auto info = decode_bar(config, nic, index);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->io, io);
  EXPECT_EQ(info->wide, wide);
  EXPECT_EQ(info->base, base);
  auto registers = bar(config, nic, index);
  ASSERT_EQ(registers.has_value(), mapped);
  if (!mapped) return;
  EXPECT_EQ(registers->is_ports(), io);
  EXPECT_EQ(registers->base(), base);
}

TEST(PciTest, BarDecoding) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1000);
  config.set32(nic, config_bar0, 0xc041);          // I/O
  config.set32(nic, config_bar0 + 4, 0xfebd1000);  // 32-bit memory
  config.set32(nic, config_bar0 + 8, 0xfe00000c);  // 64-bit prefetchable memory below 4 GiB
  config.set32(nic, config_bar0 + 12, 0);          //   its high half
  config.set32(nic, config_bar0 + 16, 0x0000000c); // 64-bit memory above 4 GiB
  config.set32(nic, config_bar0 + 20, 0x00000008); //   its high half

  expect_bar(config, 0, true, false, 0xc040, true);
  expect_bar(config, 1, false, false, 0xfebd1000, true);
  expect_bar(config, 2, false, true, 0xfe000000, true);
  // Paging maps devices only below 4 GiB: decoded, but no registers.
  expect_bar(config, 4, false, true, 0x8'0000'0000, false);
}

TEST(PciTest, UnassignedAndInvalidBars) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1000);
  EXPECT_FALSE(decode_bar(config, nic, 0)) << "base 0: unassigned";
  config.set32(nic, config_bar0, 0x1); // I/O, port 0
  EXPECT_FALSE(decode_bar(config, nic, 0));
  config.set32(nic, config_bar0 + 20, 0xfe00000c); // a 64-bit BAR in the last slot has no high half
  EXPECT_FALSE(decode_bar(config, nic, 5));
  EXPECT_FALSE(decode_bar(config, nic, 6));
  config.set32(nic, config_bar0, 0x12341); // a port beyond 16 bits
  EXPECT_TRUE(decode_bar(config, nic, 0));
  EXPECT_FALSE(bar(config, nic, 0));
}

TEST(PciTest, MsixNeedsTheCapabilityAndAMemoryBar) {
  FakeConfigSpace config;
  config.add(nic, 0x1af4, 0x1000);
  EXPECT_FALSE(enable_msix(config, nic, 0x40, 0).has_value());
  config.add_capability(nic, 0x40, 0x11);
  config.set32(nic, 0x44, 0x0000); // table in BAR 0 at offset 0
  config.set32(nic, config_bar0, 0xc041);
  auto refused = enable_msix(config, nic, 0x40, 0);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unsupported);
  EXPECT_EQ(config.read16(nic, 0x42) & 0x8000, 0) << "MSI-X left disabled";
}

} // namespace
} // namespace morgana::pvh::pci

namespace morgana::pvh::virtio {
namespace {

using pci::Address;
using pci::FakeConfigSpace;

constexpr Address device{0, 4, 0};

// 4.1.4: struct virtio_pci_cap (and the notify capability's multiplier).
void virtio_capability(FakeConfigSpace& config, std::uint8_t offset, std::uint8_t type, std::uint8_t bar,
                       std::uint32_t structure_offset, std::uint32_t length, std::uint32_t multiplier = 0) {
  config.add_capability(device, offset, 0x09);
  config.set8(device, static_cast<std::uint8_t>(offset + 2), type == 2 ? 20 : 16);
  config.set8(device, static_cast<std::uint8_t>(offset + 3), type);
  config.set8(device, static_cast<std::uint8_t>(offset + 4), bar);
  config.set32(device, static_cast<std::uint8_t>(offset + 8), structure_offset);
  config.set32(device, static_cast<std::uint8_t>(offset + 12), length);
  if (type == 2) config.set32(device, static_cast<std::uint8_t>(offset + 16), multiplier);
}

// QEMU's modern virtio-net-pci: the structures in 64-bit BAR 4.
void modern_device(FakeConfigSpace& config) {
  config.add(device, 0x1af4, 0x1041);
  config.set32(device, pci::config_bar0 + 4 * 4, 0xfe00000c);
  config.set32(device, pci::config_bar0 + 4 * 5, 0);
  config.set32(device, pci::config_bar0 + 4, 0xfebd2000); // BAR 1: MSI-X
}

TEST(VirtioPciTest, DeviceTypes) {
  FakeConfigSpace config;
  config.add(device, 0x1af4, 0x1000);
  config.set16(device, 0x2e, 1); // subsystem ID: network
  EXPECT_EQ(pci_device_type(config, {device, 0x1af4, 0x1000}), 1u);
  EXPECT_EQ(pci_device_type(config, {device, 0x1af4, 0x1044}), 4u);
  EXPECT_EQ(pci_device_type(config, {device, 0x1af4, 0x1040}), std::nullopt) << "type 0 is reserved";
  EXPECT_EQ(pci_device_type(config, {device, 0x1af4, 0x1080}), std::nullopt);
  EXPECT_EQ(pci_device_type(config, {device, 0x8086, 0x1000}), std::nullopt);
}

TEST(VirtioPciTest, ModernLayoutFromVendorCapabilities) {
  FakeConfigSpace config;
  modern_device(config);
  virtio_capability(config, 0x84, 1, 4, 0x0000, 0x1000);    // common
  virtio_capability(config, 0x70, 3, 4, 0x1000, 0x1000);    // ISR
  virtio_capability(config, 0x60, 4, 4, 0x2000, 0x1000);    // device
  virtio_capability(config, 0x4c, 2, 4, 0x3000, 0x1000, 4); // notify, 20 bytes
  auto layout = find_pci_layout(config, device);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->common.base(), 0xfe000000u);
  EXPECT_EQ(layout->isr.base(), 0xfe001000u);
  EXPECT_EQ(layout->device.base(), 0xfe002000u);
  EXPECT_EQ(layout->notify.base(), 0xfe003000u);
  EXPECT_FALSE(layout->common.is_ports());
  EXPECT_EQ(layout->notify_off_multiplier, 4u);
}

TEST(VirtioPciTest, FirstUsableCapabilityOfEachTypeWins) {
  FakeConfigSpace config;
  modern_device(config);
  virtio_capability(config, 0xa8, 1, 2, 0x0000, 0x1000); // BAR 2 is unassigned: skipped
  virtio_capability(config, 0x98, 1, 4, 0x0000, 0x20);   // too short for the common structure: skipped
  virtio_capability(config, 0x88, 1, 4, 0x4000, 0x1000);
  virtio_capability(config, 0x78, 1, 4, 0x8000, 0x1000); // a second one: ignored
  virtio_capability(config, 0x68, 3, 4, 0x1000, 0x1000);
  virtio_capability(config, 0x54, 2, 4, 0x3000, 0x1000, 0);
  virtio_capability(config, 0x44, 9, 4, 0x5000, 0x1000); // a type this driver does not use
  auto layout = find_pci_layout(config, device);
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->common.base(), 0xfe004000u);
  EXPECT_FALSE(layout->device.valid()) << "optional";
}

TEST(VirtioPciTest, LegacyOnlyDeviceHasNoModernLayout) {
  FakeConfigSpace config;
  modern_device(config);
  EXPECT_FALSE(find_pci_layout(config, device)) << "no capabilities";
  virtio_capability(config, 0x84, 1, 4, 0x0000, 0x1000);
  virtio_capability(config, 0x6c, 2, 4, 0x3000, 0x1000, 4);
  EXPECT_FALSE(find_pci_layout(config, device)) << "no ISR structure";
}

} // namespace
} // namespace morgana::pvh::virtio
