#include "morgana/platform/pvh/virtio_rng.h"

#include <cstring>

#include "morgana/core/memory.h"
#include "morgana/platform/pvh/clock.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh {
namespace {

constexpr std::uint16_t requestq = 0; // 5.4.2
constexpr std::size_t request_size = 256;
constexpr std::int64_t answer_timeout_ns = 1'000'000'000;
constexpr int empty_answers_allowed = 16;

} // namespace

VirtioRng::VirtioRng(std::unique_ptr<virtio::Transport> transport) : m_transport(std::move(transport)) {}

Result<std::unique_ptr<VirtioRng>> VirtioRng::create(std::unique_ptr<virtio::Transport> transport) {
  virtio::start_initialization(*transport);
  // 5.4.3: no device-specific features; modern transports still need VERSION_1.
  std::uint64_t wanted = transport->legacy() ? 0 : virtio::feature_version_1;
  if (!transport->legacy() && !(transport->device_features() & virtio::feature_version_1))
    return virtio::fail_device(*transport, Error{Errc::unsupported, "modern transport without VIRTIO_F_VERSION_1"});
  TRY(virtio::negotiate_features(*transport, wanted));

  auto device = TRY(try_make_unique<VirtioRng>("virtio-rng", std::move(transport)));
  auto& rng = *device;
  auto queue = virtio::Virtqueue::create(*rng.m_transport, requestq, 1);
  if (!queue) return virtio::fail_device(*rng.m_transport, queue.error());
  rng.m_queue = std::move(*queue);
  auto buffer = virtio::DmaMemory::allocate(request_size, 64);
  if (!buffer) return virtio::fail_device(*rng.m_transport, buffer.error());
  rng.m_buffer = std::move(*buffer);
  rng.m_queue->suppress_interrupts();
  virtio::set_driver_ok(*rng.m_transport);
  return device;
}

Result<void> VirtioRng::fill(std::span<std::byte> buffer) {
  int empty_answers = 0;
  while (!buffer.empty()) {
    auto wanted = static_cast<std::uint32_t>(buffer.size() < request_size ? buffer.size() : request_size);
    // 5.4.6: one device-writable buffer; the device fills what it can.
    m_queue->make_available(0, m_buffer.address(), wanted, true);
    m_queue->notify();
    auto deadline = clock::monotonic_ns() + answer_timeout_ns;
    std::optional<virtio::Virtqueue::Used> used;
    while (!(used = m_queue->take_used())) {
      if (clock::monotonic_ns() > deadline) return fail(Errc::timed_out, "virtio-rng did not answer");
      x86::pause();
    }
    // Its interrupt line may be shared: leave it low for the other devices.
    m_transport->acknowledge_interrupt();
    std::size_t length = used->length < wanted ? used->length : wanted;
    if (length == 0 && ++empty_answers > empty_answers_allowed)
      return fail(Errc::no_entropy, "virtio-rng returns no bytes");
    std::memcpy(buffer.data(), m_buffer.data(), length);
    buffer = buffer.subspan(length);
  }
  return {};
}

void VirtioRng::format(FormatSink& sink) const { format_to(sink, "{}", *m_transport); }

} // namespace morgana::pvh
