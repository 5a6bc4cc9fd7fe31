#pragma once

// The frame paths of the virtio network device (virtio 1.1, 5.1.6), apart from
// its initialisation so that they run against a fake device in unit tests:
// the virtio_net_hdr that carries offload metadata with each frame, the
// transmit queue (a frame over a chain of buffers, up to 64 KiB with
// HOST_TSO4) and the receive queue (a frame over several mergeable buffers
// with MRG_RXBUF, assembled into the reader's buffer).
//
// Memory stays bounded: every buffer is allocated at start, one per
// descriptor, and frames are copied into and out of them.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "morgana/core/format.h"
#include "morgana/core/memory.h"
#include "morgana/core/net_offload.h"
#include "morgana/core/result.h"
#include "morgana/core/virtio_net_header.h"
#include "morgana/platform/pvh/virtio.h"
#include "morgana/platform/pvh/virtqueue.h"

namespace morgana::pvh::virtio {

// 5.1.3: the device's offload and buffer features this driver knows.
inline constexpr std::uint64_t net_feature_csum = std::uint64_t{1} << 0;       // takes partial checksums
inline constexpr std::uint64_t net_feature_guest_csum = std::uint64_t{1} << 1; // gives partial/valid checksums
inline constexpr std::uint64_t net_feature_guest_tso4 = std::uint64_t{1} << 7; // gives coalesced TCP/IPv4
inline constexpr std::uint64_t net_feature_host_tso4 = std::uint64_t{1} << 11; // takes TCP/IPv4 to segment
inline constexpr std::uint64_t net_feature_mrg_rxbuf = std::uint64_t{1} << 15; // one frame over several buffers

// The offload features to ask for: those `allowed` permits and the device
// `offered` with what each needs (5.1.3.1: HOST_TSO4 needs CSUM, GUEST_TSO4
// needs GUEST_CSUM; GUEST_TSO4 also MRG_RXBUF here, since without it every
// receive buffer would have to hold 64 KiB).
[[nodiscard]] std::uint64_t wanted_offload_features(const NetOffloads& allowed, std::uint64_t offered);
// What negotiated `features` let the stack use.
[[nodiscard]] NetOffloads offloads_of(std::uint64_t features);

// The negotiated features by name ("csum guest-csum ... event-idx", "none"), for the boot log.
struct NetFeatureNames {
  std::uint64_t features;
  void format(FormatSink& sink) const;
};

// 5.1.6: the device's header is VirtioNetHeader then le16 num_buffers, the
// last field only on modern devices or with MRG_RXBUF (5.1.6.1).
inline constexpr std::size_t net_header_size = VirtioNetHeader::size + 2,
                             net_header_size_without_buffers = VirtioNetHeader::size;

// Writes the header for sending `frame` with `offload` into `header`
// (net_header_size_without_buffers bytes or more; num_buffers, if there, is 0),
// or refuses as virtio_net_header_for does, leaving `header` as it was.
[[nodiscard]] Result<void> encode_net_header(std::span<std::byte> header, std::span<const std::byte> frame,
                                             const FrameOffload& offload);
// Reads a received header (net_header_size_without_buffers bytes or more) for
// a frame of `frame_length` bytes, or refuses as frame_offload_of does.
[[nodiscard]] Result<FrameOffload> decode_net_header(std::span<const std::byte> header, std::size_t frame_length);

struct NetQueueConfig {
  std::uint16_t index;
  std::uint16_t wanted_size;
  bool event_index;        // VIRTIO_F_EVENT_IDX negotiated
  std::size_t header_size; // net_header_size or net_header_size_without_buffers
  std::size_t buffer_size; // bytes per descriptor, header included
  NetOffloads offloads;    // negotiated: what frames may carry
};

class NetTransmitQueue {
public:
  // `plain_frame_limit`: the longest frame without a segment size (MTU and link header).
  [[nodiscard]] static Result<std::unique_ptr<NetTransmitQueue>>
  create(Transport& transport, const NetQueueConfig& config, std::size_t plain_frame_limit);

  // Frames of up to the plain limit held back while the ring is full.
  static constexpr std::size_t held_frames = 64;

  [[nodiscard]] std::uint16_t size() const { return m_queue->size(); }
  // Queues one frame and notifies the device if it asked to be (with
  // EVENT_IDX not again until it has caught up, so a burst costs one doorbell).
  // While too few buffers are back from the device, or frames are held
  // already, a frame of up to the plain limit is held (copied, in order, up to
  // held_frames) and goes out from flush(): the stack's bursts would otherwise
  // be losses for TCP to recover. Errc::no_space beyond the limit
  // (max_offload_frame with a segment size), Errc::invalid_argument for
  // metadata the device did not agree to take or that does not fit the frame,
  // Errc::would_block when the frame can be neither queued nor held. Nothing
  // is queued on failure.
  [[nodiscard]] Result<void> write(std::span<const std::byte> frame, const FrameOffload& offload);
  // Queues the held frames that buffers back from the device now take.
  void flush();
  // Before the CPU halts: flush(); while frames are still held, asks for an
  // interrupt at the device's next used buffer and returns whether one is back
  // already (there is more to send now); otherwise used buffers raise none.
  [[nodiscard]] bool ready();
  [[nodiscard]] std::size_t held() const { return m_held_count; }

private:
  NetTransmitQueue(const NetQueueConfig& config, std::size_t plain_frame_limit);
  friend struct morgana::NothrowNew;
  void reclaim();
  // flush() after reclaim(): queues the held frames the free buffers take.
  void send_held();
  // How many buffers `frame` takes with its header.
  [[nodiscard]] std::size_t buffers_for(std::size_t frame_length) const;
  // Copies the header and `frame` into free buffers and makes them available
  // (the caller checked that enough are free); no notification.
  void enqueue(std::span<const std::byte> header, std::span<const std::byte> frame);
  [[nodiscard]] std::byte* held_slot(std::size_t index) const {
    return m_held.get() + index * (net_header_size + m_plain_frame_limit);
  }

  NetQueueConfig m_config;
  std::size_t m_plain_frame_limit;
  std::unique_ptr<Virtqueue> m_queue;
  DmaMemory m_buffers;
  std::unique_ptr<std::uint16_t[]> m_free; // IDs of buffers we hold
  std::size_t m_free_count = 0;
  // Per descriptor with the device: the next one in its frame's chain
  // (no_next at the end); per chain head, how many descriptors it has (0: not a head in flight).
  std::unique_ptr<std::uint16_t[]> m_next;
  std::unique_ptr<std::uint16_t[]> m_chain_length;
  std::unique_ptr<Virtqueue::Part[]> m_parts; // scratch for one chain
  // held_frames slots of the encoded header then the frame, a ring from m_held_first.
  std::unique_ptr<std::byte[]> m_held;
  std::unique_ptr<std::uint16_t[]> m_held_length; // of each slot's frame
  std::size_t m_held_first = 0;
  std::size_t m_held_count = 0;
};

class NetReceiveQueue {
public:
  // `mergeable`: MRG_RXBUF negotiated (num_buffers says how many buffers a frame spans).
  [[nodiscard]] static Result<std::unique_ptr<NetReceiveQueue>> create(Transport& transport,
                                                                       const NetQueueConfig& config, bool mergeable);

  [[nodiscard]] std::uint16_t size() const { return m_queue->size(); }
  // Offers every buffer to the device (5.1.6.3), without notifying it.
  void fill();
  // Notifies the device of buffers offered since the last notification.
  void flush();
  // Copies the next frame (from all its buffers) into `frame` and its metadata
  // into `offload`, and offers the buffers again; 0 when no whole frame waits.
  // A frame longer than `frame` is dropped with Errc::no_space; malformed ones
  // (lengths, headers, metadata not negotiated) are dropped and counted.
  [[nodiscard]] Result<std::size_t> read(std::span<std::byte> frame, FrameOffload& offload);
  // Before the CPU halts: asks the device to interrupt at the next used buffer
  // and returns whether one already waits.
  [[nodiscard]] bool ready();

private:
  NetReceiveQueue(const NetQueueConfig& config, bool mergeable);
  friend struct morgana::NothrowNew;
  void refill(std::uint16_t id);
  [[nodiscard]] std::byte* buffer(std::uint16_t id) const { return m_buffers.data() + id * m_config.buffer_size; }

  NetQueueConfig m_config;
  bool m_mergeable;
  std::unique_ptr<Virtqueue> m_queue;
  DmaMemory m_buffers;
  std::size_t m_refilled = 0; // buffers offered since the last notification
  // The first buffer of a frame whose other buffers the device has not returned yet.
  std::optional<Virtqueue::Used> m_head;
};

} // namespace morgana::pvh::virtio
