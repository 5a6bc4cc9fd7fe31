#include "morgana/platform/pvh/xen_console.h"

#include <cstddef>
#include <cstdint>
#include <span>

#include "morgana/platform/pvh/x86.h"
#include "morgana/platform/pvh/xen_console_ring.h"
#include "morgana/platform/pvh/xen_hypervisor.h"

namespace morgana::pvh::xen::console {
namespace {

// xen/include/public/io/console.h
struct Interface {
  char in[1024];
  char out[2048];
  std::uint32_t in_cons, in_prod;
  std::uint32_t out_cons, out_prod;
};
static_assert(offsetof(Interface, out_cons) == 3080);

// Polls of a full ring, each after a notify and a pause, before deciding that
// nobody drains it. Not a time limit: a slow console only makes the image wait.
constexpr int stalled_after_polls = 10'000'000;

struct State {
  Interface* ring = nullptr;
  std::uint32_t port = 0;
  bool stalled = false;
};
constinit State g_state{};

// Waits until the consumer moves past `consumer`, or gives up. Returns whether it moved.
bool wait_for_consumer(std::uint32_t consumer) {
  for (int poll = 0; poll < stalled_after_polls; ++poll) {
    if (__atomic_load_n(&g_state.ring->out_cons, __ATOMIC_ACQUIRE) != consumer) return true;
    x86::pause();
  }
  g_state.stalled = true;
  return false;
}

} // namespace

Result<void> init() {
  auto pfn = TRY(hvm_param(hvm_param_console_pfn));
  auto port = TRY(hvm_param(hvm_param_console_evtchn));
  if (pfn == 0) return fail(Errc::not_found, "Xen gave no console page");
  g_state.ring = x86::physical<Interface>(pfn * 4096);
  g_state.port = static_cast<std::uint32_t>(port);
  // xenconsoled signals back when it has taken output; write() polls instead,
  // so that signal need not wake a halted image.
  mask(g_state.port);
  return {};
}

bool ready() { return g_state.ring != nullptr; }

void write(std::string_view text) {
  if (!g_state.ring || g_state.stalled) return;
  auto& ring = *g_state.ring;
  while (!text.empty()) {
    auto consumer = __atomic_load_n(&ring.out_cons, __ATOMIC_ACQUIRE);
    auto producer = __atomic_load_n(&ring.out_prod, __ATOMIC_RELAXED);
    auto taken = console_ring_write(std::span(ring.out), consumer, producer, text);
    // The bytes before the index that publishes them (console.h: a write barrier).
    __atomic_store_n(&ring.out_prod, producer, __ATOMIC_RELEASE);
    (void)notify(g_state.port);
    text.remove_prefix(taken);
    if (taken == 0 && !wait_for_consumer(consumer)) return;
  }
}

void flush() {
  if (!g_state.ring) return;
  auto& ring = *g_state.ring;
  while (!g_state.stalled) {
    auto consumer = __atomic_load_n(&ring.out_cons, __ATOMIC_ACQUIRE);
    if (consumer == __atomic_load_n(&ring.out_prod, __ATOMIC_RELAXED)) return;
    (void)notify(g_state.port);
    wait_for_consumer(consumer);
  }
}

} // namespace morgana::pvh::xen::console
