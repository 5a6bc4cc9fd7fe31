#include "morgana/platform/pvh/devices.h"

#include <memory>
#include <vector>

#include "morgana/core/log.h"
#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/acpi.h"
#include "morgana/platform/pvh/interrupts.h"
#include "morgana/platform/pvh/ioapic.h"
#include "morgana/platform/pvh/virtio.h"
#include "morgana/platform/pvh/xen_devices.h"
#include "morgana/platform/pvh/xen_hypervisor.h"

namespace morgana::pvh::devices {
namespace {

log::Source devices_log{"devices"};

struct State {
  std::vector<std::unique_ptr<NetDevice>> nets;
  std::unique_ptr<VirtioRng> rng;
  bool polling = false;
};
constinit State g_state{};

} // namespace

void start(std::span<const std::string_view> mmio_arguments, std::uint64_t rsdp_address) {
  // A Xen PVH guest has no PCI bus, no I/O APIC and no virtio-mmio slots:
  // probing them would only read all ones, one trapped access at a time. Its
  // devices are Xen's own.
  if (xen::present()) {
    devices_log.info("on Xen: no PCI or virtio probing");
    g_state.nets = xen::start_net_devices();
    return;
  }
  acpi::init(rsdp_address);
  ioapic::init();
  auto apic_id = interrupts::local_apic_id();
  for (auto& transport : virtio::discover(mmio_arguments)) {
    switch (transport->device_id()) {
    case virtio::device_net: {
      StringBuilder<96> where;
      format_to(where, "{}", *transport);
      auto device = VirtioNet::create(std::move(transport), interrupts::device_vector, apic_id);
      if (!device) {
        devices_log.error("virtio-net at {}: {}", where.view(), device.error());
        break;
      }
      devices_log.info("net{}: virtio-net at {}", g_state.nets.size(), **device);
      if (!(*device)->interrupts()) g_state.polling = true;
      g_state.nets.push_back(std::move(*device));
      break;
    }
    case virtio::device_entropy: {
      if (g_state.rng) break;
      StringBuilder<96> where;
      format_to(where, "{}", *transport);
      auto device = VirtioRng::create(std::move(transport));
      if (!device) {
        devices_log.error("virtio-rng at {}: {}", where.view(), device.error());
        break;
      }
      devices_log.info("virtio-rng at {}", **device);
      g_state.rng = std::move(*device);
      break;
    }
    default: devices_log.debug("virtio device type {} at {}: no driver", transport->device_id(), *transport);
    }
  }
}

std::size_t net_count() { return g_state.nets.size(); }

NetDevice& net(std::size_t index) {
  if (index >= g_state.nets.size()) platform::abort("no such network device");
  return *g_state.nets[index];
}

VirtioRng* rng() { return g_state.rng.get(); }

bool work_pending() {
  bool pending = false;
  for (auto& device : g_state.nets) pending |= device->input_pending();
  return pending;
}

bool needs_polling() { return g_state.polling; }

} // namespace morgana::pvh::devices
