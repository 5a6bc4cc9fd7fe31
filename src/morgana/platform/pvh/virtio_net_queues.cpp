#include "morgana/platform/pvh/virtio_net_queues.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/counter.h"

namespace morgana::pvh::virtio {
namespace {

Counter receive_malformed{"virtio_net.rx_malformed",
                          "received frames dropped: buffer lengths, buffer counts or headers the device got wrong"};
Counter receive_too_long{"virtio_net.rx_too_long", "frames longer than the reader's buffer, dropped"};
Counter receive_merged{"virtio_net.rx_merged", "received frames that spanned more than one buffer"};
Counter transmit_ring_full{"virtio_net.tx_ring_full",
                           "frames not sent: too few transmit buffers back from the device and none to hold it"};
Counter transmit_held{"virtio_net.tx_held", "frames held back while the transmit ring was full, sent later"};
Counter transmit_too_long{"virtio_net.tx_too_long", "frames not sent: longer than the MTU (or 64 KiB with TSO) allows"};
Counter transmit_bad_offload{"virtio_net.tx_bad_offload",
                             "frames not sent: offload metadata not negotiated or not fitting the frame"};
Counter transmit_bad_used{"virtio_net.tx_bad_used", "used transmit IDs that named no frame with the device"};

// 5.1.6: num_buffers, after the fields VirtioNetHeader holds.
constexpr std::size_t header_num_buffers = VirtioNetHeader::size;

constexpr std::uint16_t no_next = 0xffff;

} // namespace

std::uint64_t wanted_offload_features(const NetOffloads& allowed, std::uint64_t offered) {
  std::uint64_t wanted = 0;
  if (allowed.tx_checksum && (offered & net_feature_csum)) {
    wanted |= net_feature_csum;
    if (allowed.tso4) wanted |= net_feature_host_tso4;
  }
  if (allowed.rx_checksum && (offered & net_feature_guest_csum)) {
    wanted |= net_feature_guest_csum;
    if (allowed.gro4 && (offered & net_feature_mrg_rxbuf)) wanted |= net_feature_guest_tso4;
  }
  return wanted & offered;
}

NetOffloads offloads_of(std::uint64_t features) {
  NetOffloads offloads;
  offloads.tx_checksum = (features & net_feature_csum) != 0;
  offloads.tso4 = offloads.tx_checksum && (features & net_feature_host_tso4);
  offloads.rx_checksum = (features & net_feature_guest_csum) != 0;
  offloads.gro4 = offloads.rx_checksum && (features & net_feature_guest_tso4) && (features & net_feature_mrg_rxbuf);
  return offloads;
}

void NetFeatureNames::format(FormatSink& sink) const {
  static constexpr struct {
    std::uint64_t bit;
    std::string_view name;
  } names[] = {{net_feature_csum, "csum"},           {net_feature_guest_csum, "guest-csum"},
               {net_feature_host_tso4, "host-tso4"}, {net_feature_guest_tso4, "guest-tso4"},
               {net_feature_mrg_rxbuf, "mrg-rxbuf"}, {Virtqueue::feature_event_index, "event-idx"}};
  std::string_view separator;
  for (const auto& [bit, name] : names) {
    if (!(features & bit)) continue;
    sink.write(separator);
    sink.write(name);
    separator = " ";
  }
  if (separator.empty()) sink.write("none");
}

Result<void> encode_net_header(std::span<std::byte> header, std::span<const std::byte> frame,
                               const FrameOffload& offload) {
  auto fields = TRY(virtio_net_header_for(frame, offload));
  std::fill(header.begin(), header.end(), std::byte{0});
  fields.serialize(header.first<VirtioNetHeader::size>());
  return {};
}

Result<FrameOffload> decode_net_header(std::span<const std::byte> header, std::size_t frame_length) {
  return frame_offload_of(VirtioNetHeader::parse(header.first<VirtioNetHeader::size>()), frame_length);
}

// ---- Transmit ----

NetTransmitQueue::NetTransmitQueue(const NetQueueConfig& config, std::size_t plain_frame_limit)
    : m_config(config), m_plain_frame_limit(plain_frame_limit) {}

Result<std::unique_ptr<NetTransmitQueue>> NetTransmitQueue::create(Transport& transport, const NetQueueConfig& config,
                                                                   std::size_t plain_frame_limit) {
  if (config.buffer_size < config.header_size + plain_frame_limit)
    return fail(Errc::invalid_argument, "transmit buffers shorter than a frame");
  auto queue = TRY(try_make_unique<NetTransmitQueue>("virtio-net transmit queue", config, plain_frame_limit));
  queue->m_queue = TRY(Virtqueue::create(transport, config.index, config.wanted_size, config.event_index));
  auto size = queue->m_queue->size();
  queue->m_buffers = TRY(DmaMemory::allocate(size * config.buffer_size, 4096));
  queue->m_free = TRY(try_make_unique<std::uint16_t[]>("virtio-net transmit list", size));
  queue->m_next = TRY(try_make_unique<std::uint16_t[]>("virtio-net transmit chains", size));
  queue->m_chain_length = TRY(try_make_unique<std::uint16_t[]>("virtio-net transmit chains", size));
  queue->m_parts = TRY(try_make_unique<Virtqueue::Part[]>("virtio-net transmit chain", size));
  queue->m_held =
      TRY(try_make_unique<std::byte[]>("virtio-net held frames", held_frames * (net_header_size + plain_frame_limit)));
  queue->m_held_length = TRY(try_make_unique<std::uint16_t[]>("virtio-net held frames", held_frames));
  for (std::uint16_t id = 0; id < size; ++id) {
    queue->m_free[queue->m_free_count++] = id;
    queue->m_chain_length[id] = 0;
  }
  // Sent buffers are reclaimed when the next frame goes out; an interrupt is
  // asked for only while frames are held (ready()).
  queue->m_queue->suppress_interrupts();
  return queue;
}

void NetTransmitQueue::reclaim() {
  while (auto used = m_queue->take_used()) {
    auto length = m_chain_length[used->id];
    if (length == 0) {
      transmit_bad_used.increment();
      continue;
    }
    m_chain_length[used->id] = 0;
    for (std::uint16_t id = used->id, i = 0; i < length && id != no_next; ++i, id = m_next[id])
      m_free[m_free_count++] = id;
  }
}

std::size_t NetTransmitQueue::buffers_for(std::size_t frame_length) const {
  return (m_config.header_size + frame_length + m_config.buffer_size - 1) / m_config.buffer_size;
}

Result<void> NetTransmitQueue::write(std::span<const std::byte> frame, const FrameOffload& offload) {
  reclaim();
  send_held();
  if (frame.size() > (offload.segment_size ? max_offload_frame : m_plain_frame_limit)) {
    transmit_too_long.increment();
    return fail(Errc::no_space, offload.segment_size ? "frame longer than 64 KiB" : "frame longer than the MTU");
  }
  if ((offload.checksum_partial && !m_config.offloads.tx_checksum) ||
      (offload.segment_size && !m_config.offloads.tso4)) {
    transmit_bad_offload.increment();
    return fail(Errc::invalid_argument, "offload the device did not agree to");
  }
  std::byte header[net_header_size];
  if (auto encoded = encode_net_header(std::span(header, m_config.header_size), frame, offload); !encoded) {
    transmit_bad_offload.increment();
    return encoded;
  }
  if (m_held_count == 0 && buffers_for(frame.size()) <= m_free_count) {
    enqueue(std::span(header, m_config.header_size), frame);
    m_queue->notify();
    return {};
  }
  // Behind held frames, or the ring is full: hold it if it fits, to keep the order.
  if (m_held_count == held_frames || frame.size() > m_plain_frame_limit) {
    transmit_ring_full.increment();
    return fail(Errc::would_block, "transmit queue full");
  }
  auto index = (m_held_first + m_held_count) % held_frames;
  std::memcpy(held_slot(index), header, m_config.header_size);
  std::memcpy(held_slot(index) + m_config.header_size, frame.data(), frame.size());
  m_held_length[index] = static_cast<std::uint16_t>(frame.size());
  ++m_held_count;
  transmit_held.increment();
  return {};
}

void NetTransmitQueue::flush() {
  if (m_held_count == 0) return;
  reclaim();
  send_held();
}

void NetTransmitQueue::send_held() {
  bool queued = false;
  while (m_held_count > 0 && buffers_for(m_held_length[m_held_first]) <= m_free_count) {
    auto* slot = held_slot(m_held_first);
    enqueue(std::span(slot, m_config.header_size), std::span(slot + m_config.header_size, m_held_length[m_held_first]));
    m_held_first = (m_held_first + 1) % held_frames;
    --m_held_count;
    queued = true;
  }
  if (queued) m_queue->notify();
}

bool NetTransmitQueue::ready() {
  flush();
  if (m_held_count == 0) {
    m_queue->suppress_interrupts();
    return false;
  }
  // A buffer the device uses from now on wakes the CPU to send the rest.
  return m_queue->request_interrupt();
}

void NetTransmitQueue::enqueue(std::span<const std::byte> header, std::span<const std::byte> frame) {
  // 5.1.6.2: the header then the frame, across the chain's device-readable buffers.
  const std::size_t total = header.size() + frame.size();
  const std::size_t count = buffers_for(frame.size());
  std::size_t copied = 0; // of header and frame together
  for (std::size_t i = 0; i < count; ++i) {
    auto id = m_free[m_free_count - 1 - i];
    auto* buffer = m_buffers.data() + id * m_config.buffer_size;
    auto length = std::min(m_config.buffer_size, total - copied);
    for (std::size_t offset = 0; offset < length;) {
      std::size_t n;
      if (copied < header.size()) {
        n = std::min(length - offset, header.size() - copied);
        std::memcpy(buffer + offset, header.data() + copied, n);
      } else {
        n = length - offset;
        std::memcpy(buffer + offset, frame.data() + (copied - header.size()), n);
      }
      offset += n;
      copied += n;
    }
    m_parts[i] = {id, m_buffers.address(id * m_config.buffer_size), static_cast<std::uint32_t>(length), false};
    m_next[id] = i + 1 < count ? m_free[m_free_count - 2 - i] : no_next;
  }
  m_free_count -= count;
  m_chain_length[m_parts[0].id] = static_cast<std::uint16_t>(count);
  m_queue->make_available(std::span(m_parts.get(), count));
}

// ---- Receive ----

NetReceiveQueue::NetReceiveQueue(const NetQueueConfig& config, bool mergeable)
    : m_config(config), m_mergeable(mergeable) {}

Result<std::unique_ptr<NetReceiveQueue>> NetReceiveQueue::create(Transport& transport, const NetQueueConfig& config,
                                                                 bool mergeable) {
  if (config.buffer_size <= config.header_size) return fail(Errc::invalid_argument, "receive buffers too short");
  auto queue = TRY(try_make_unique<NetReceiveQueue>("virtio-net receive queue", config, mergeable));
  queue->m_queue = TRY(Virtqueue::create(transport, config.index, config.wanted_size, config.event_index));
  queue->m_buffers = TRY(DmaMemory::allocate(queue->m_queue->size() * config.buffer_size, 4096));
  return queue;
}

void NetReceiveQueue::fill() {
  for (std::uint16_t id = 0; id < m_queue->size(); ++id)
    m_queue->make_available(id, m_buffers.address(id * m_config.buffer_size),
                            static_cast<std::uint32_t>(m_config.buffer_size), true);
  m_refilled = m_queue->size();
}

void NetReceiveQueue::flush() {
  if (!m_refilled) return;
  m_queue->notify();
  m_refilled = 0;
}

void NetReceiveQueue::refill(std::uint16_t id) {
  m_queue->make_available(id, m_buffers.address(id * m_config.buffer_size),
                          static_cast<std::uint32_t>(m_config.buffer_size), true);
  // Notify in batches, but before the device could run dry.
  if (++m_refilled >= m_queue->size() / 2u) flush();
}

Result<std::size_t> NetReceiveQueue::read(std::span<std::byte> frame, FrameOffload& offload) {
  offload = {};
  while (true) {
    if (!m_head) m_head = m_queue->take_used();
    if (!m_head) {
      flush();
      return 0;
    }
    auto head = *m_head;
    // 5.1.6.4: the first buffer's length covers the header and the frame's start.
    if (head.length < m_config.header_size || head.length > m_config.buffer_size) {
      m_head.reset();
      receive_malformed.increment();
      refill(head.id);
      continue;
    }
    std::uint16_t count =
        m_mergeable ? virtio_net_detail::load_le16(std::span(buffer(head.id), m_config.header_size), header_num_buffers)
                    : 1;
    if (count == 0 || count > m_queue->size()) {
      m_head.reset();
      receive_malformed.increment();
      refill(head.id);
      continue;
    }
    // The device publishes a frame's buffers together (QEMU does); if not, wait for the rest.
    if (m_queue->used_pending() < count - 1u) {
      flush();
      return 0;
    }
    m_head.reset();

    std::byte header[net_header_size];
    std::memcpy(header, buffer(head.id), m_config.header_size);
    std::size_t length = head.length - m_config.header_size;
    bool fits = length <= frame.size();
    if (fits) std::memcpy(frame.data(), buffer(head.id) + m_config.header_size, length);
    refill(head.id);
    bool intact = true;
    for (std::uint16_t i = 1; i < count; ++i) {
      auto part = m_queue->take_used();
      if (!part) { // an ID outside the table (counted): the frame misses a part
        intact = false;
        break;
      }
      if (part->length > m_config.buffer_size) intact = false;
      else if (fits && length + part->length <= frame.size())
        std::memcpy(frame.data() + length, buffer(part->id), part->length);
      else fits = false;
      length += part->length;
      refill(part->id);
    }
    if (!intact) {
      receive_malformed.increment();
      continue;
    }
    if (!fits) {
      receive_too_long.increment();
      return fail(Errc::no_space, "frame longer than the buffer");
    }
    auto decoded = decode_net_header(std::span(header, m_config.header_size), length);
    // 5.1.6.4.1: without GUEST_CSUM (GUEST_TSO4) the flags (gso_type) are 0.
    if (!decoded || ((decoded->checksum_partial || decoded->checksum_valid) && !m_config.offloads.rx_checksum) ||
        (decoded->segment_size && !m_config.offloads.gro4)) {
      receive_malformed.increment();
      continue;
    }
    if (count > 1) receive_merged.increment();
    offload = *decoded;
    return length;
  }
}

bool NetReceiveQueue::ready() {
  flush();
  return m_queue->request_interrupt();
}

} // namespace morgana::pvh::virtio
