#include "morgana/platform/pvh/virtio.h"

#include <optional>

#include "morgana/core/ascii.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/platform/pvh/acpi.h"
#include "morgana/platform/pvh/ioapic.h"
#include "morgana/platform/pvh/pci.h"
#include "morgana/platform/pvh/registers.h"
#include "morgana/platform/pvh/virtio_pci.h"

namespace morgana::pvh::virtio {
namespace {

log::Source virtio_log{"virtio"};

// Polls of the status register while a device resets (4.1.4.3.2, 4.2.3.1).
constexpr int reset_polls = 1'000'000;
constexpr std::uint16_t no_vector = 0xffff; // 4.1.5.1.2: VIRTIO_MSI_NO_VECTOR
constexpr std::uint32_t legacy_page_size = 4096;

void wait_for_reset(Transport& transport) {
  for (int i = 0; i < reset_polls && transport.status() != 0; ++i) x86::pause();
}

// ---- PCI (4.1) ----

// Routes a PCI function's interrupts: MSI-X when it has it, else its INTx line.
// Returns whether MSI-X is on.
Result<bool> route_pci_interrupts(pci::Address address, std::uint8_t vector, std::uint8_t apic_id) {
  auto& config = pci::port_config_space();
  if (pci::enable_msix(config, address, vector, apic_id)) return true;
  auto pin = config.read8(address, pci::config_interrupt_pin);
  auto line = config.read8(address, pci::config_interrupt_line);
  if (pin == 0 || line == 0 || line >= 16) return fail(Errc::unsupported, "no MSI-X and no interrupt line");
  TRY(ioapic::route(ioapic::gsi_for_isa_irq(line), vector, apic_id));
  return false;
}

// 4.1.4.8: the legacy interface in I/O BAR 0.
class LegacyPciTransport final : public Transport {
public:
  LegacyPciTransport(pci::Address address, Registers registers, std::uint32_t device_id)
      : m_address(address), m_registers(registers), m_device_id(device_id) {}

  void format(FormatSink& sink) const override {
    format_to(sink, "pci {} legacy{}", m_address, m_msix ? ", MSI-X" : "");
  }
  std::uint32_t device_id() const override { return m_device_id; }
  bool legacy() const override { return true; }

  std::uint8_t status() override { return m_registers.read8(device_status); }
  void set_status(std::uint8_t status) override { m_registers.write8(device_status, status); }
  void reset() override {
    set_status(0);
    wait_for_reset(*this);
  }
  std::uint64_t device_features() override { return m_registers.read32(device_features_register); }
  void set_driver_features(std::uint64_t features) override {
    m_registers.write32(driver_features_register, static_cast<std::uint32_t>(features));
  }

  std::uint32_t config_generation() override { return 0; }
  std::uint8_t config_read8(std::size_t offset) override { return m_registers.read8(config() + offset); }
  std::uint16_t config_read16(std::size_t offset) override { return m_registers.read16(config() + offset); }
  std::uint32_t config_read32(std::size_t offset) override { return m_registers.read32(config() + offset); }

  std::uint16_t queue_max_size(std::uint16_t index) override {
    m_registers.write16(queue_select, index);
    return m_registers.read16(queue_size);
  }
  bool queue_size_fixed() const override { return true; }
  Result<void> activate_queue(std::uint16_t index, std::uint16_t size, const QueueAreas& areas) override {
    m_registers.write16(queue_select, index);
    if (m_registers.read16(queue_size) != size) return fail(Errc::invalid_argument, "legacy queue size is fixed");
    if (areas.descriptor_table % legacy_page_size || areas.descriptor_table / legacy_page_size > 0xffffffff)
      return fail(Errc::invalid_argument, "legacy queue not page-aligned below 16 TiB");
    if (m_msix) {
      m_registers.write16(queue_msix_vector, 0);
      if (m_registers.read16(queue_msix_vector) != 0) return fail(Errc::no_space, "device refused the MSI-X vector");
    }
    m_registers.write32(queue_address, static_cast<std::uint32_t>(areas.descriptor_table / legacy_page_size));
    return {};
  }
  void notify(std::uint16_t index) override { m_registers.write16(queue_notify, index); }

  Result<void> enable_interrupts(std::uint8_t vector, std::uint8_t apic_id) override {
    m_msix = TRY(route_pci_interrupts(m_address, vector, apic_id));
    // Configuration changes do not interest this driver.
    if (m_msix) m_registers.write16(config_msix_vector, no_vector);
    return {};
  }
  void acknowledge_interrupt() override {
    if (!m_msix) (void)m_registers.read8(isr_status); // reading clears it
  }

private:
  static constexpr std::size_t device_features_register = 0x00, driver_features_register = 0x04, queue_address = 0x08,
                               queue_size = 0x0c, queue_select = 0x0e, queue_notify = 0x10, device_status = 0x12,
                               isr_status = 0x13, config_msix_vector = 0x14, queue_msix_vector = 0x16;
  // The device-specific configuration follows the MSI-X registers when MSI-X is on.
  [[nodiscard]] std::size_t config() const { return m_msix ? 0x18 : 0x14; }

  pci::Address m_address;
  Registers m_registers;
  std::uint32_t m_device_id;
  bool m_msix = false;
};

// 4.1.4: the modern interface, its structures located by vendor capabilities.
class ModernPciTransport final : public Transport {
public:
  using Layout = PciLayout;

  ModernPciTransport(pci::Address address, const Layout& layout, std::uint32_t device_id)
      : m_address(address), m_layout(layout), m_device_id(device_id) {}

  void format(FormatSink& sink) const override {
    format_to(sink, "pci {} modern{}", m_address, m_msix ? ", MSI-X" : "");
  }
  std::uint32_t device_id() const override { return m_device_id; }
  bool legacy() const override { return false; }

  std::uint8_t status() override { return common().read8(device_status); }
  void set_status(std::uint8_t status) override { common().write8(device_status, status); }
  void reset() override {
    set_status(0);
    wait_for_reset(*this);
  }
  std::uint64_t device_features() override {
    common().write32(device_feature_select, 0);
    std::uint64_t low = common().read32(device_feature);
    common().write32(device_feature_select, 1);
    return low | std::uint64_t{common().read32(device_feature)} << 32;
  }
  void set_driver_features(std::uint64_t features) override {
    common().write32(driver_feature_select, 0);
    common().write32(driver_feature, static_cast<std::uint32_t>(features));
    common().write32(driver_feature_select, 1);
    common().write32(driver_feature, static_cast<std::uint32_t>(features >> 32));
  }

  std::uint32_t config_generation() override { return common().read8(config_generation_register); }
  std::uint8_t config_read8(std::size_t offset) override { return m_layout.device.read8(offset); }
  std::uint16_t config_read16(std::size_t offset) override { return m_layout.device.read16(offset); }
  std::uint32_t config_read32(std::size_t offset) override { return m_layout.device.read32(offset); }

  std::uint16_t queue_max_size(std::uint16_t index) override {
    if (index >= common().read16(num_queues)) return 0;
    common().write16(queue_select, index);
    return common().read16(queue_size);
  }
  // 4.1.5.1.3: select, size, vector, addresses, then enable.
  Result<void> activate_queue(std::uint16_t index, std::uint16_t size, const QueueAreas& areas) override {
    if (index >= max_queues) return fail(Errc::limit_reached, "queue index");
    common().write16(queue_select, index);
    common().write16(queue_size, size);
    if (m_msix) {
      common().write16(queue_msix_vector, 0);
      if (common().read16(queue_msix_vector) != 0) return fail(Errc::no_space, "device refused the MSI-X vector");
    }
    write64(queue_desc, areas.descriptor_table);
    write64(queue_driver, areas.available_ring);
    write64(queue_device, areas.used_ring);
    // 4.1.4.4: the queue's notification address.
    m_notify_offsets[index] = std::size_t{common().read16(queue_notify_off)} * m_layout.notify_off_multiplier;
    common().write16(queue_enable, 1);
    return {};
  }
  void notify(std::uint16_t index) override {
    if (index < max_queues) m_layout.notify.write16(m_notify_offsets[index], index);
  }

  Result<void> enable_interrupts(std::uint8_t vector, std::uint8_t apic_id) override {
    m_msix = TRY(route_pci_interrupts(m_address, vector, apic_id));
    if (m_msix) common().write16(config_msix_vector, no_vector);
    return {};
  }
  void acknowledge_interrupt() override {
    if (!m_msix) (void)m_layout.isr.read8(0); // 4.1.4.5: reading clears it
  }

private:
  // 4.1.4.3: struct virtio_pci_common_cfg.
  static constexpr std::size_t device_feature_select = 0x00, device_feature = 0x04, driver_feature_select = 0x08,
                               driver_feature = 0x0c, config_msix_vector = 0x10, num_queues = 0x12,
                               device_status = 0x14, config_generation_register = 0x15, queue_select = 0x16,
                               queue_size = 0x18, queue_msix_vector = 0x1a, queue_enable = 0x1c,
                               queue_notify_off = 0x1e, queue_desc = 0x20, queue_driver = 0x28, queue_device = 0x30;
  static constexpr std::uint16_t max_queues = 8;

  [[nodiscard]] const Registers& common() const { return m_layout.common; }
  // 4.1.3.1: 64-bit fields as two 32-bit writes, low first.
  void write64(std::size_t offset, std::uint64_t value) {
    common().write32(offset, static_cast<std::uint32_t>(value));
    common().write32(offset + 4, static_cast<std::uint32_t>(value >> 32));
  }

  pci::Address m_address;
  Layout m_layout;
  std::uint32_t m_device_id;
  bool m_msix = false;
  std::size_t m_notify_offsets[max_queues] = {};
};

// ---- MMIO (4.2) ----

constexpr std::uint32_t mmio_magic = 0x74726976; // "virt"
constexpr std::uint64_t microvm_mmio_base = 0xfeb00000;
constexpr std::uint64_t microvm_mmio_stride = 0x200;
constexpr int microvm_mmio_slots = 24;
constexpr std::size_t max_mmio_arguments = 32;

// 4.2.2 (version 2) and 4.2.4 (version 1, legacy) register layout.
class MmioTransport final : public Transport {
public:
  MmioTransport(Registers registers, std::uint32_t version, std::optional<std::uint32_t> interrupt)
      : m_registers(registers), m_version(version), m_interrupt(interrupt) {}

  // Whether a device answers at `base`: the magic value, a known version, a device ID.
  static std::optional<std::uint32_t> probe(Registers registers) {
    if (registers.read32(magic_value) != mmio_magic) return std::nullopt;
    auto version = registers.read32(version_register);
    if ((version != 1 && version != 2) || registers.read32(device_id_register) == 0) return std::nullopt;
    return version;
  }

  void format(FormatSink& sink) const override {
    format_to(sink, "mmio 0x{} v{}", Hex{m_registers.base()}, m_version);
    if (m_interrupt) format_to(sink, " irq {}", *m_interrupt);
  }
  std::uint32_t device_id() const override { return m_registers.read32(device_id_register); }
  bool legacy() const override { return m_version == 1; }

  std::uint8_t status() override { return static_cast<std::uint8_t>(m_registers.read32(status_register)); }
  void set_status(std::uint8_t status) override { m_registers.write32(status_register, status); }
  void reset() override {
    set_status(0);
    wait_for_reset(*this);
  }
  std::uint64_t device_features() override {
    m_registers.write32(device_features_sel, 0);
    std::uint64_t low = m_registers.read32(device_features_register);
    if (legacy()) return low;
    m_registers.write32(device_features_sel, 1);
    return low | std::uint64_t{m_registers.read32(device_features_register)} << 32;
  }
  void set_driver_features(std::uint64_t features) override {
    m_registers.write32(driver_features_sel, 0);
    m_registers.write32(driver_features_register, static_cast<std::uint32_t>(features));
    if (legacy()) return;
    m_registers.write32(driver_features_sel, 1);
    m_registers.write32(driver_features_register, static_cast<std::uint32_t>(features >> 32));
  }

  std::uint32_t config_generation() override { return legacy() ? 0 : m_registers.read32(config_generation_register); }
  std::uint8_t config_read8(std::size_t offset) override { return m_registers.read8(config + offset); }
  std::uint16_t config_read16(std::size_t offset) override { return m_registers.read16(config + offset); }
  std::uint32_t config_read32(std::size_t offset) override { return m_registers.read32(config + offset); }

  std::uint16_t queue_max_size(std::uint16_t index) override {
    m_registers.write32(queue_sel, index);
    auto size = m_registers.read32(queue_num_max);
    return static_cast<std::uint16_t>(size > 0xffff ? 0 : size);
  }
  // 4.2.3.2 (version 2) and 4.2.4 (version 1).
  Result<void> activate_queue(std::uint16_t index, std::uint16_t size, const QueueAreas& areas) override {
    m_registers.write32(queue_sel, index);
    m_registers.write32(queue_num, size);
    if (legacy()) {
      if (areas.descriptor_table % legacy_page_size || areas.descriptor_table / legacy_page_size > 0xffffffff)
        return fail(Errc::invalid_argument, "legacy queue not page-aligned below 16 TiB");
      m_registers.write32(guest_page_size, legacy_page_size);
      m_registers.write32(queue_align, legacy_page_size);
      m_registers.write32(queue_pfn, static_cast<std::uint32_t>(areas.descriptor_table / legacy_page_size));
      return {};
    }
    write64(queue_desc_low, areas.descriptor_table);
    write64(queue_driver_low, areas.available_ring);
    write64(queue_device_low, areas.used_ring);
    m_registers.write32(queue_ready, 1);
    return {};
  }
  void notify(std::uint16_t index) override { m_registers.write32(queue_notify, index); }

  Result<void> enable_interrupts(std::uint8_t vector, std::uint8_t apic_id) override {
    if (!m_interrupt) return fail(Errc::not_found, "interrupt line unknown (no virtio_mmio.device= and no ACPI entry)");
    return ioapic::route(*m_interrupt, vector, apic_id);
  }
  void acknowledge_interrupt() override {
    auto pending = m_registers.read32(interrupt_status);
    if (pending) m_registers.write32(interrupt_ack, pending);
  }

private:
  static constexpr std::size_t magic_value = 0x000, version_register = 0x004, device_id_register = 0x008,
                               device_features_register = 0x010, device_features_sel = 0x014,
                               driver_features_register = 0x020, driver_features_sel = 0x024, guest_page_size = 0x028,
                               queue_sel = 0x030, queue_num_max = 0x034, queue_num = 0x038, queue_align = 0x03c,
                               queue_pfn = 0x040, queue_ready = 0x044, queue_notify = 0x050, interrupt_status = 0x060,
                               interrupt_ack = 0x064, status_register = 0x070, queue_desc_low = 0x080,
                               queue_driver_low = 0x090, queue_device_low = 0x0a0, config_generation_register = 0x0fc,
                               config = 0x100;

  void write64(std::size_t low, std::uint64_t value) {
    m_registers.write32(low, static_cast<std::uint32_t>(value));
    m_registers.write32(low + 4, static_cast<std::uint32_t>(value >> 32));
  }

  Registers m_registers;
  std::uint32_t m_version;
  std::optional<std::uint32_t> m_interrupt;
};

// ---- Discovery ----

void discover_pci(std::vector<std::unique_ptr<Transport>>& transports) {
  auto& config = pci::port_config_space();
  for (const auto& function : pci::enumerate(config)) {
    auto device_type = pci_device_type(config, function);
    if (!device_type) continue;
    auto type = *device_type;
    pci::enable(config, function.address);
    std::unique_ptr<Transport> transport;
    // A transitional device that has the modern structures is driven through them.
    if (auto layout = find_pci_layout(config, function.address)) {
      if (auto made = try_make_unique<ModernPciTransport>("virtio-pci transport", function.address, *layout, type))
        transport = std::move(*made);
    } else if (auto bar0 = pci::bar(config, function.address, 0); bar0 && bar0->is_ports()) {
      if (auto made = try_make_unique<LegacyPciTransport>("virtio-pci transport", function.address, *bar0, type))
        transport = std::move(*made);
    } else {
      virtio_log.warn("pci {}: virtio device {} without usable registers", function.address, type);
    }
    if (transport) transports.push_back(std::move(transport));
  }
}

// A number as Linux's memparse reads it: decimal or 0x-hex, with an optional K, M or G.
std::optional<std::uint64_t> parse_number(std::string_view& text, bool suffix_allowed) {
  unsigned base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    base = 16;
    text.remove_prefix(2);
  }
  std::uint64_t value = 0;
  std::size_t digits = 0;
  for (; digits < text.size(); ++digits) {
    int hex = ascii::hex_digit_value(text[digits]);
    if (hex < 0) break;
    auto digit = static_cast<unsigned>(hex);
    if (digit >= base || value > (UINT64_MAX - digit) / base) break;
    value = value * base + digit;
  }
  if (digits == 0) return std::nullopt;
  text.remove_prefix(digits);
  if (suffix_allowed && !text.empty()) {
    int shift = text[0] == 'K' || text[0] == 'k'   ? 10
                : text[0] == 'M' || text[0] == 'm' ? 20
                : text[0] == 'G' || text[0] == 'g' ? 30
                                                   : 0;
    if (shift) {
      value <<= shift;
      text.remove_prefix(1);
    }
  }
  return value;
}

struct MmioDevice {
  std::uint64_t base;
  std::uint32_t interrupt;
};

// Linux's virtio_mmio.device=<size>@<baseaddr>:<irq>[:<id>].
std::optional<MmioDevice> parse_mmio_argument(std::string_view text) {
  text.remove_prefix(text.find('=') + 1);
  auto size = parse_number(text, true);
  if (!size || !text.starts_with('@')) return std::nullopt;
  text.remove_prefix(1);
  auto base = parse_number(text, false);
  if (!base || !text.starts_with(':')) return std::nullopt;
  text.remove_prefix(1);
  auto interrupt = parse_number(text, false);
  if (!interrupt || (!text.empty() && !text.starts_with(':'))) return std::nullopt;
  return MmioDevice{*base, static_cast<std::uint32_t>(*interrupt)};
}

void add_mmio(std::vector<std::unique_ptr<Transport>>& transports, std::uint64_t base,
              std::optional<std::uint32_t> interrupt) {
  // Paging maps device memory only below 4 GiB.
  if (base == 0 || base >= (std::uint64_t{4} << 30)) {
    virtio_log.warn("virtio-mmio at 0x{}: outside the mapped 4 GiB; ignored", Hex{base});
    return;
  }
  auto registers = Registers::memory(base);
  auto version = MmioTransport::probe(registers);
  if (!version) return;
  if (auto transport = try_make_unique<MmioTransport>("virtio-mmio transport", registers, *version, interrupt))
    transports.push_back(std::move(*transport));
}

void discover_mmio(std::vector<std::unique_ptr<Transport>>& transports, std::span<const std::string_view> arguments) {
  std::size_t given = 0;
  for (auto argument : arguments) {
    auto device = parse_mmio_argument(argument);
    if (!device) {
      virtio_log.warn("cannot parse '{}'", argument);
      continue;
    }
    if (++given > max_mmio_arguments) break;
    add_mmio(transports, device->base, device->interrupt);
  }
  if (given) return;
  for (int slot = 0; slot < microvm_mmio_slots; ++slot) {
    auto base = microvm_mmio_base + slot * microvm_mmio_stride;
    if (!MmioTransport::probe(Registers::memory(base))) continue;
    add_mmio(transports, base, acpi::memory_resource_interrupt(base));
  }
}

} // namespace

void start_initialization(Transport& transport) {
  transport.reset();
  transport.set_status(status_acknowledge);
  transport.set_status(status_acknowledge | status_driver);
}

Result<std::uint64_t> negotiate_features(Transport& transport, std::uint64_t wanted) {
  auto features = transport.device_features() & wanted;
  transport.set_driver_features(features);
  if (transport.legacy()) return features;
  auto status = static_cast<std::uint8_t>(transport.status() | status_features_ok);
  transport.set_status(status);
  if (!(transport.status() & status_features_ok))
    return fail_device(transport, Error{Errc::unsupported, "device did not accept the features (FEATURES_OK)"});
  return features;
}

void set_driver_ok(Transport& transport) {
  transport.set_status(static_cast<std::uint8_t>(transport.status() | status_driver_ok));
}

std::unexpected<Error> fail_device(Transport& transport, Error error) {
  transport.set_status(static_cast<std::uint8_t>(transport.status() | status_failed));
  return std::unexpected(error);
}

std::vector<std::unique_ptr<Transport>> discover(std::span<const std::string_view> mmio_arguments) {
  std::vector<std::unique_ptr<Transport>> transports;
  discover_pci(transports);
  discover_mmio(transports, mmio_arguments);
  return transports;
}

} // namespace morgana::pvh::virtio
