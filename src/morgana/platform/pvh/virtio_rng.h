#pragma once

// The virtio entropy device (virtio 1.1, 5.4): the platform's entropy source
// when the CPU has neither RDSEED nor RDRAND. Requests are synchronous: one
// device-writable buffer on the request queue, polled until the device
// returns it. Entropy is asked for rarely (the CSPRNG's key), so no interrupt.

#include <cstddef>
#include <memory>
#include <span>

#include "morgana/core/format.h"
#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/virtio.h"
#include "morgana/platform/pvh/virtqueue.h"

namespace morgana::pvh {

class VirtioRng {
public:
  [[nodiscard]] static Result<std::unique_ptr<VirtioRng>> create(std::unique_ptr<virtio::Transport> transport);

  // Fills `buffer` from the device; Errc::timed_out when it stops answering.
  [[nodiscard]] Result<void> fill(std::span<std::byte> buffer);

  void format(FormatSink& sink) const;

private:
  explicit VirtioRng(std::unique_ptr<virtio::Transport> transport);
  friend struct morgana::NothrowNew;

  std::unique_ptr<virtio::Transport> m_transport;
  std::unique_ptr<virtio::Virtqueue> m_queue;
  virtio::DmaMemory m_buffer;
};

} // namespace morgana::pvh
