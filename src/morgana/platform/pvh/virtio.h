#pragma once

// Virtio transports (virtio 1.1, chapter 4): how a driver reaches a device's
// status, features, configuration space, queues and interrupts, whatever the
// bus. Three are implemented: PCI with the legacy I/O BAR (4.1.4.8), PCI 1.0
// capabilities (4.1.4) and MMIO, version 1 (legacy, 4.2.4) and 2 (4.2.2).
// Drivers (virtio_net, virtio_rng) see only Transport.

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::pvh::virtio {

// 5: device types.
inline constexpr std::uint32_t device_net = 1, device_entropy = 4;

// 2.1: device status bits.
inline constexpr std::uint8_t status_acknowledge = 1, status_driver = 2, status_driver_ok = 4, status_features_ok = 8,
                              status_device_needs_reset = 64, status_failed = 128;

// 6 and 6.3: reserved feature bits.
inline constexpr std::uint64_t feature_any_layout = std::uint64_t{1} << 27; // legacy only
inline constexpr std::uint64_t feature_version_1 = std::uint64_t{1} << 32;

// Where the three parts of a split virtqueue live (2.6), as physical addresses.
struct QueueAreas {
  std::uint64_t descriptor_table;
  std::uint64_t available_ring;
  std::uint64_t used_ring;
};

class Transport {
public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // "pci 00:03.0 modern", "mmio 0xfeb00000 v1 irq 24", for logs.
  virtual void format(FormatSink& sink) const = 0;
  [[nodiscard]] virtual std::uint32_t device_id() const = 0;
  // The legacy interface: 32 feature bits, no FEATURES_OK (3.1.2), queues given
  // as one page-aligned block in the legacy layout (2.6.2).
  [[nodiscard]] virtual bool legacy() const = 0;

  [[nodiscard]] virtual std::uint8_t status() = 0;
  virtual void set_status(std::uint8_t status) = 0;
  // Writes 0 to the status and waits for the device to finish resetting.
  virtual void reset() = 0;
  [[nodiscard]] virtual std::uint64_t device_features() = 0;
  virtual void set_driver_features(std::uint64_t features) = 0;

  // 2.4: the device-specific configuration space, little-endian (legacy:
  // guest-endian, the same on x86). The generation changes when the device
  // changes it; 0 on the legacy interface, which has none.
  [[nodiscard]] virtual std::uint32_t config_generation() = 0;
  [[nodiscard]] virtual std::uint8_t config_read8(std::size_t offset) = 0;
  [[nodiscard]] virtual std::uint16_t config_read16(std::size_t offset) = 0;
  [[nodiscard]] virtual std::uint32_t config_read32(std::size_t offset) = 0;

  // The largest size queue `index` takes; 0 when it does not exist.
  [[nodiscard]] virtual std::uint16_t queue_max_size(std::uint16_t index) = 0;
  // Whether the queue must have exactly that size (legacy PCI cannot change it).
  [[nodiscard]] virtual bool queue_size_fixed() const { return false; }
  // Gives the device the queue's memory and enables it.
  [[nodiscard]] virtual Result<void> activate_queue(std::uint16_t index, std::uint16_t size,
                                                    const QueueAreas& areas) = 0;
  // An available buffer notification (2.8 / 4.1.5.2 / 4.2.3.3).
  virtual void notify(std::uint16_t index) = 0;

  // Routes the device's used buffer notifications to `vector` on local APIC
  // `apic_id`: MSI-X, else the PCI interrupt line or the MMIO device's line
  // through the I/O APIC. Fails when neither exists (the driver then polls).
  // Call after reset and before reading the configuration space or activating
  // queues: with MSI-X on, legacy PCI moves its configuration space.
  [[nodiscard]] virtual Result<void> enable_interrupts(std::uint8_t vector, std::uint8_t apic_id) = 0;
  // Reads and clears the interrupt status, so that the line drops and the next
  // notification raises it again (nothing to do for MSI-X).
  virtual void acknowledge_interrupt() = 0;
};

// 3.1.1 steps 1-3: reset, then ACKNOWLEDGE and DRIVER.
void start_initialization(Transport& transport);

// 3.1.1 steps 4-6: accepts `wanted` & offered features; on the modern
// interface sets FEATURES_OK and checks that the device kept it. Returns the
// negotiated features; on failure sets FAILED.
[[nodiscard]] Result<std::uint64_t> negotiate_features(Transport& transport, std::uint64_t wanted);

// 3.1.1 step 8, after the queues are set up.
void set_driver_ok(Transport& transport);

// Marks the device FAILED (3.1.1) and returns the error, for a driver's error paths.
[[nodiscard]] std::unexpected<Error> fail_device(Transport& transport, Error error);

// Every virtio device on PCI, then on MMIO: at the addresses that
// `virtio_mmio.device=<size>@<base>:<irq>` words give (QEMU's microvm appends
// them with acpi=off), else by probing microvm's slots at 0xfeb00000 + n*0x200.
[[nodiscard]] std::vector<std::unique_ptr<Transport>> discover(std::span<const std::string_view> mmio_arguments);

} // namespace morgana::pvh::virtio
