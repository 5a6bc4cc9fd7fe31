#include "morgana/platform/pvh/xen_devices.h"

#include <array>
#include <span>

#include "morgana/core/log.h"
#include "morgana/platform/pvh/clock.h"
#include "morgana/platform/pvh/interrupts.h"
#include "morgana/platform/pvh/virtqueue.h"
#include "morgana/platform/pvh/xen_grant_table.h"
#include "morgana/platform/pvh/xen_hypervisor.h"
#include "morgana/platform/pvh/xen_netfront.h"
#include "morgana/platform/pvh/xen_services.h"
#include "morgana/platform/pvh/xen_store.h"

namespace morgana::pvh::xen {
namespace {

log::Source xen_devices_log{"xen-devices"};

// Grant table frames mapped at start: 3072 references, enough for five vifs
// of 2 + 256 + 256 grants each.
constexpr std::size_t grant_frames = 6;
constexpr std::size_t max_vifs = 5;
// Per vif; nested emulation makes the back end slow to connect.
constexpr std::int64_t handshake_timeout_ns = 30'000'000'000;

class HypercallServices final : public Services {
public:
  Result<void> notify(std::uint32_t port) override { return xen::notify(port); }
  Result<std::uint32_t> alloc_unbound(std::uint16_t remote_domain) override {
    return xen::alloc_unbound(remote_domain);
  }
  void unmask(std::uint32_t port) override { xen::unmask(port); }
  bool take_pending(std::uint32_t port) override { return xen::take_pending(port); }
  std::uint64_t gfn(const void* address) const override { return xen::gfn(address); }
  std::int64_t now_ns() override { return clock::monotonic_ns(); }
  // The port's pending bit survives the callback, so an event between the
  // test and the halt still wakes it at once.
  void wait(std::uint32_t port, std::int64_t deadline_ns) override {
    if (xen::take_pending(port)) return;
    interrupts::halt_for(deadline_ns - clock::monotonic_ns());
  }
};

// What the devices keep using for the image's lifetime.
struct State {
  HypercallServices services;
  virtio::DmaMemory grant_frames;
  std::unique_ptr<GrantTable> grants;
  std::unique_ptr<Store> store;
};
constinit State* g_state = nullptr;

Result<void> start_shared(State& state) {
  // The grant table's frames take the place of these heap pages (the RAM
  // behind them goes back to Xen); they stay allocated for good.
  state.grant_frames = TRY(virtio::DmaMemory::allocate(grant_frames * page_size, page_size));
  TRY(xen::grant_table_map(xen::gfn(state.grant_frames.data()), grant_frames));
  state.grants = TRY(GrantTable::create({state.grant_frames.data(), state.grant_frames.size()}));
  auto store_pfn = TRY(xen::hvm_param(hvm_param_store_pfn));
  auto store_port = static_cast<std::uint32_t>(TRY(xen::hvm_param(hvm_param_store_evtchn)));
  if (store_pfn == 0 || store_pfn >= (std::uint64_t{1} << 20))
    return fail(Errc::unsupported, "xenstore page outside the identity-mapped 4 GiB");
  auto* page = reinterpret_cast<std::byte*>(store_pfn * page_size); // NOLINT(performance-no-int-to-ptr)
  state.store = TRY(try_make_unique<Store>("xenstore", std::span(page, page_size), state.services, store_port));
  xen::unmask(store_port);
  return {};
}

} // namespace

std::vector<std::unique_ptr<NetDevice>> start_net_devices() {
  std::vector<std::unique_ptr<NetDevice>> nets;
  if (!g_state) {
    auto state = try_make_unique<State>("xen devices");
    if (!state) return nets;
    if (auto started = start_shared(**state); !started) {
      xen_devices_log.error("grant table or xenstore: {}", started.error());
      return nets;
    }
    g_state = state->release();
  }
  auto& state = *g_state;
  auto deadline = clock::monotonic_ns() + handshake_timeout_ns;
  auto vifs = state.store->directory("device/vif", deadline);
  if (!vifs) {
    if (vifs.error() == Errc::not_found) xen_devices_log.info("no vif in xenstore: no network");
    else xen_devices_log.error("device/vif: {}", vifs.error());
    return nets;
  }
  // Names stay valid only until the next request: copied first.
  std::array<StringBuilder<32>, max_vifs> devices;
  std::size_t count = 0;
  while (auto name = vifs->next())
    if (count < max_vifs && name->size() <= 10) format_to(devices[count++], "device/vif/{}", *name);
  for (const auto& device : std::span(devices).first(count)) {
    auto net = Netfront::create(*state.store, *state.grants, state.services, device.view(), allowed_net_offloads(),
                                clock::monotonic_ns() + handshake_timeout_ns);
    if (!net) {
      xen_devices_log.error("{}: {}", device.view(), net.error());
      continue;
    }
    xen_devices_log.info("net{}: netfront {}: {}", nets.size(), device.view(), **net);
    nets.push_back(std::move(*net));
  }
  return nets;
}

} // namespace morgana::pvh::xen
