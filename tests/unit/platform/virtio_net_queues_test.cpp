#include "morgana/platform/pvh/virtio_net_queues.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "morgana/core/counter.h"
#include "pvh_heap.h"
#include "virtio_fake.h"

namespace morgana::pvh::virtio {
namespace {

using morgana::test_support::give_the_heap_memory;
using test::FakeDevice;

constexpr std::size_t ethernet = 14, ipv4 = 20, tcp_checksum_offset = 16;
constexpr std::uint16_t tcp_start = ethernet + ipv4;

// An Ethernet/IPv4/TCP frame of `length` bytes whose TCP header is
// `tcp_words` 32-bit words long, the rest a counting pattern.
std::vector<std::byte> tcp_frame(std::size_t length, unsigned tcp_words = 5) {
  std::vector<std::byte> frame(length);
  for (std::size_t i = 0; i < length; ++i) frame[i] = static_cast<std::byte>(i * 7 + i / 251);
  if (length > tcp_start + 12) frame[tcp_start + 12] = static_cast<std::byte>(tcp_words << 4);
  return frame;
}

std::uint16_t le16(const std::vector<std::byte>& bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(bytes[offset]) |
                                    (std::to_integer<unsigned>(bytes[offset + 1]) << 8));
}

FrameOffload tso(std::uint16_t segment_size) {
  FrameOffload offload;
  offload.checksum_partial = true;
  offload.checksum_start = tcp_start;
  offload.checksum_offset = tcp_checksum_offset;
  offload.segment_size = segment_size;
  return offload;
}

std::uint64_t counter(std::string_view name) {
  auto* found = Counter::find(name);
  EXPECT_NE(found, nullptr) << name;
  return found ? found->value() : 0;
}

constexpr NetOffloads all{true, true, true, true};

// ---- Features ----

TEST(VirtioNetFeatures, AskedOnlyWhenAllowedOfferedAndWithWhatTheyNeed) {
  const std::uint64_t everything = net_feature_csum | net_feature_guest_csum | net_feature_host_tso4 |
                                   net_feature_guest_tso4 | net_feature_mrg_rxbuf;
  EXPECT_EQ(wanted_offload_features(all, everything),
            net_feature_csum | net_feature_guest_csum | net_feature_host_tso4 | net_feature_guest_tso4);
  EXPECT_EQ(wanted_offload_features({}, everything), 0u);
  EXPECT_EQ(wanted_offload_features({true, true, false, true}, everything),
            net_feature_csum | net_feature_guest_csum | net_feature_guest_tso4);
  EXPECT_EQ(wanted_offload_features({true, true, true, false}, everything),
            net_feature_csum | net_feature_guest_csum | net_feature_host_tso4);
  EXPECT_EQ(wanted_offload_features({false, true, false, true}, everything),
            net_feature_guest_csum | net_feature_guest_tso4);
  // 5.1.3.1: HOST_TSO4 needs CSUM, GUEST_TSO4 needs GUEST_CSUM (and here MRG_RXBUF).
  EXPECT_EQ(wanted_offload_features(all, everything & ~net_feature_csum),
            net_feature_guest_csum | net_feature_guest_tso4);
  EXPECT_EQ(wanted_offload_features(all, everything & ~net_feature_guest_csum),
            net_feature_csum | net_feature_host_tso4);
  EXPECT_EQ(wanted_offload_features(all, everything & ~net_feature_mrg_rxbuf),
            net_feature_csum | net_feature_guest_csum | net_feature_host_tso4);
  EXPECT_EQ(wanted_offload_features(all, net_feature_host_tso4 | net_feature_guest_tso4), 0u);
}

TEST(VirtioNetFeatures, OffloadsFollowTheNegotiatedBits) {
  EXPECT_EQ(offloads_of(0), NetOffloads{});
  EXPECT_EQ(offloads_of(net_feature_csum), (NetOffloads{true, false, false, false}));
  EXPECT_EQ(offloads_of(net_feature_guest_csum), (NetOffloads{false, true, false, false}));
  EXPECT_EQ(offloads_of(net_feature_csum | net_feature_host_tso4), (NetOffloads{true, false, true, false}));
  EXPECT_EQ(offloads_of(net_feature_guest_csum | net_feature_guest_tso4 | net_feature_mrg_rxbuf),
            (NetOffloads{false, true, false, true}));
  EXPECT_EQ(offloads_of(net_feature_guest_csum | net_feature_guest_tso4), (NetOffloads{false, true, false, false}))
      << "no GRO without mergeable buffers";
}

TEST(VirtioNetFeatures, NamedForTheBootLog) {
  EXPECT_EQ(format_string("{}", NetFeatureNames{0}), "none");
  EXPECT_EQ(format_string("{}", NetFeatureNames{net_feature_csum | net_feature_host_tso4 | net_feature_mrg_rxbuf |
                                                Virtqueue::feature_event_index}),
            "csum host-tso4 mrg-rxbuf event-idx");
}

// ---- virtio_net_hdr ----
// The fields and their checks are VirtioNetHeader's (core/virtio_net_header_test.cpp);
// here, what the queues add: num_buffers and the header's two sizes.

TEST(VirtioNetHeader, PlainFrameHasAZeroHeader) {
  auto frame = tcp_frame(60);
  std::vector<std::byte> header(net_header_size, std::byte{0xee});
  ASSERT_TRUE(encode_net_header(header, frame, {}));
  EXPECT_EQ(header, std::vector<std::byte>(net_header_size, std::byte{0}));
  auto decoded = decode_net_header(header, frame.size());
  ASSERT_TRUE(decoded);
  EXPECT_FALSE(decoded->checksum_partial);
  EXPECT_FALSE(decoded->checksum_valid);
  EXPECT_EQ(decoded->segment_size, 0);
}

TEST(VirtioNetHeader, SegmentationOffloadBothWays) {
  auto frame = tcp_frame(30'000, 8); // a TCP header with 12 bytes of options
  std::vector<std::byte> header(net_header_size, std::byte{0xee});
  ASSERT_TRUE(encode_net_header(header, frame, tso(1448)));
  EXPECT_EQ(header[0], std::byte{1}) << "VIRTIO_NET_HDR_F_NEEDS_CSUM";
  EXPECT_EQ(header[1], std::byte{1}) << "VIRTIO_NET_HDR_GSO_TCPV4";
  EXPECT_EQ(le16(header, 2), tcp_start + 32) << "hdr_len: up to the TCP payload";
  EXPECT_EQ(le16(header, 4), 1448);
  EXPECT_EQ(le16(header, 6), tcp_start);
  EXPECT_EQ(le16(header, 8), tcp_checksum_offset);
  EXPECT_EQ(le16(header, 10), 0) << "num_buffers is the device's";

  header[10] = std::byte{3}; // as a device with MRG_RXBUF fills it: not part of the metadata
  auto decoded = decode_net_header(header, frame.size());
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->checksum_partial);
  EXPECT_EQ(decoded->checksum_start, tcp_start);
  EXPECT_EQ(decoded->checksum_offset, tcp_checksum_offset);
  EXPECT_EQ(decoded->segment_size, 1448);
  EXPECT_FALSE(decoded->checksum_valid);
}

TEST(VirtioNetHeader, LegacyHeaderWithoutNumBuffers) {
  auto frame = tcp_frame(200);
  std::vector<std::byte> header(net_header_size_without_buffers);
  FrameOffload offload;
  offload.checksum_partial = true;
  offload.checksum_start = tcp_start;
  offload.checksum_offset = tcp_checksum_offset;
  ASSERT_TRUE(encode_net_header(header, frame, offload));
  EXPECT_EQ(header[0], std::byte{1});
  EXPECT_EQ(header[1], std::byte{0});
  EXPECT_EQ(le16(header, 6), tcp_start);
  auto decoded = decode_net_header(header, frame.size());
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->checksum_partial);
}

TEST(VirtioNetHeader, RefusedMetadataLeavesTheHeaderAlone) {
  auto frame = tcp_frame(100);
  std::vector<std::byte> header(net_header_size, std::byte{0xee});
  FrameOffload beyond;
  beyond.checksum_partial = true;
  beyond.checksum_start = 90;
  beyond.checksum_offset = 16;
  EXPECT_EQ(encode_net_header(header, frame, beyond).error().code, Errc::invalid_argument);
  EXPECT_EQ(header, std::vector<std::byte>(net_header_size, std::byte{0xee}));

  std::vector<std::byte> udp(net_header_size);
  udp[1] = std::byte{3}; // VIRTIO_NET_HDR_GSO_UDP
  EXPECT_EQ(decode_net_header(udp, 1000).error().code, Errc::unsupported);
}

// ---- Transmit ----

class VirtioNetTransmitTest : public ::testing::Test {
protected:
  void SetUp() override {
    give_the_heap_memory();
    device.queue_index = 1;
  }

  std::unique_ptr<NetTransmitQueue> create(NetOffloads offloads, std::size_t buffer_size = 4096,
                                           std::uint16_t size = 64, bool event_index = false) {
    auto queue = NetTransmitQueue::create(device, {1, size, event_index, net_header_size, buffer_size, offloads}, 1518);
    EXPECT_TRUE(queue.has_value());
    return queue ? std::move(*queue) : nullptr;
  }

  FakeDevice device;
};

TEST_F(VirtioNetTransmitTest, PlainFrameIsHeaderAndFrameInOneBuffer) {
  auto queue = create({}, 1600);
  auto frame = tcp_frame(1514);
  ASSERT_TRUE(queue->write(frame, {}));
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 1u);
  ASSERT_EQ(device.chain(heads[0]).size(), 1u);
  auto bytes = device.read(heads[0]);
  ASSERT_EQ(bytes.size(), net_header_size + frame.size());
  EXPECT_EQ(std::vector<std::byte>(bytes.begin(), bytes.begin() + net_header_size),
            std::vector<std::byte>(net_header_size, std::byte{0}));
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), bytes.begin() + net_header_size));
  EXPECT_EQ(device.notifications, 1);
}

TEST_F(VirtioNetTransmitTest, SixtyFourKilobyteSegmentFrameGoesOutAsOneChain) {
  auto queue = create(all, 4096);
  auto frame = tcp_frame(max_offload_frame);
  ASSERT_TRUE(queue->write(frame, tso(1448)));
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 1u);
  auto chain = device.chain(heads[0]);
  EXPECT_EQ(chain.size(), (net_header_size + max_offload_frame + 4095) / 4096);
  auto bytes = device.read(heads[0]);
  ASSERT_EQ(bytes.size(), net_header_size + frame.size());
  EXPECT_EQ(bytes[1], std::byte{1}) << "GSO TCPV4";
  EXPECT_EQ(le16(bytes, 4), 1448);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), bytes.begin() + net_header_size)) << "byte-exact across buffers";

  // The whole chain comes back under its head and every buffer is ours again:
  // the queue takes as many such frames as before.
  device.use(heads[0].id, 0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(queue->write(frame, tso(1448))) << i;
  EXPECT_EQ(device.take_available().size(), 3u);
}

TEST_F(VirtioNetTransmitTest, LimitsAndNegotiationAreEnforcedAndNothingIsQueuedOnFailure) {
  auto plain = create({}, 1600);
  auto too_long = tcp_frame(1519);
  EXPECT_EQ(plain->write(too_long, {}).error().code, Errc::no_space);
  auto frame = tcp_frame(1000);
  auto before = counter("virtio_net.tx_bad_offload");
  EXPECT_EQ(plain->write(frame, tso(500)).error().code, Errc::invalid_argument) << "no TSO negotiated";
  FrameOffload checksum;
  checksum.checksum_partial = true;
  checksum.checksum_start = tcp_start;
  checksum.checksum_offset = tcp_checksum_offset;
  EXPECT_EQ(plain->write(frame, checksum).error().code, Errc::invalid_argument) << "no CSUM negotiated";
  EXPECT_EQ(counter("virtio_net.tx_bad_offload"), before + 2);
  EXPECT_TRUE(device.take_available().empty());

  FakeDevice other;
  other.queue_index = 1;
  auto offloading = NetTransmitQueue::create(other, {1, 64, false, net_header_size, 4096, all}, 1518);
  ASSERT_TRUE(offloading);
  auto huge = tcp_frame(max_offload_frame + 1);
  EXPECT_EQ((*offloading)->write(huge, tso(1448)).error().code, Errc::no_space);
  EXPECT_EQ((*offloading)->write(tcp_frame(2000), {}).error().code, Errc::no_space) << "no segment size: the MTU";
  EXPECT_TRUE(other.take_available().empty());
}

TEST_F(VirtioNetTransmitTest, FullRingRefusesUntilTheDeviceReturnsBuffers) {
  auto queue = create(all, 4096, 32);
  auto frame = tcp_frame(20'000); // 5 buffers each
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(queue->write(frame, tso(1448))) << i;
  auto written = queue->write(frame, tso(1448));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::would_block) << "2 buffers left, 5 needed";
  EXPECT_TRUE(queue->write(tcp_frame(100), {})) << "a small frame still fits";
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 7u);
  device.use(heads[2].id, 0);
  EXPECT_TRUE(queue->write(frame, tso(1448)));
  auto again = device.take_available();
  ASSERT_EQ(again.size(), 1u);
  auto bytes = device.read(again[0]);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), bytes.begin() + net_header_size));
}

TEST_F(VirtioNetTransmitTest, UsedIdThatIsNoChainHeadIsCountedNotFreed) {
  auto queue = create(all, 4096, 16);
  auto frame = tcp_frame(10'000); // 3 buffers
  ASSERT_TRUE(queue->write(frame, tso(1448)));
  auto heads = device.take_available();
  auto chain = device.chain(heads[0]);
  ASSERT_EQ(chain.size(), 3u);
  auto before = counter("virtio_net.tx_bad_used");
  device.use(chain[1].id, 0); // the middle of a chain
  device.use(heads[0].id, 0);
  device.use(heads[0].id, 0);                                                   // twice
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(queue->write(frame, tso(1448))) << i; // 15 of 16 buffers
  EXPECT_EQ(queue->write(frame, tso(1448)).error().code, Errc::would_block);
  EXPECT_EQ(counter("virtio_net.tx_bad_used"), before + 2);
}

TEST_F(VirtioNetTransmitTest, BurstWithEventIndexRingsTheDoorbellOnce) {
  auto queue = create(all, 4096, 64, true);
  device.set_available_event(0);
  auto sent = counter("virtio.notifications");
  auto suppressed = counter("virtio.notifications_suppressed");
  auto frame = tcp_frame(1514);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(queue->write(frame, {}));
  EXPECT_EQ(device.notifications, 1);
  EXPECT_EQ(counter("virtio.notifications"), sent + 1);
  EXPECT_EQ(counter("virtio.notifications_suppressed"), suppressed + 19);
  // The device caught up and waits for the next index: the next burst costs one more.
  device.set_available_event(device.available_index());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(queue->write(frame, {}));
  EXPECT_EQ(device.notifications, 2);
}

// Frames sent into a full ring are held and go out in order once buffers are
// back, instead of being dropped; ready() asks for an interrupt meanwhile.
TEST_F(VirtioNetTransmitTest, FullRingHoldsPlainFramesAndSendsThemInOrderLater) {
  auto queue = create({}, 1600, 4, true);
  auto held_before = counter("virtio_net.tx_held");
  auto full_before = counter("virtio_net.tx_ring_full");
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(queue->write(tcp_frame(100 + i), {})) << i;
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 4u);
  EXPECT_EQ(queue->held(), 3u);
  EXPECT_EQ(counter("virtio_net.tx_held"), held_before + 3);
  EXPECT_EQ(counter("virtio_net.tx_ring_full"), full_before);
  // Nothing back yet: nothing to send now, and an interrupt is asked for at
  // the next used buffer (used_event, 2.6.7.2).
  EXPECT_FALSE(queue->ready());
  EXPECT_EQ(queue->held(), 3u);
  EXPECT_EQ(device.used_event(), device.used_index());
  // Two buffers back: the first two held frames go out, the third waits; a
  // new frame waits behind it.
  device.use(heads[0].id, 0);
  device.use(heads[1].id, 0);
  EXPECT_TRUE(queue->write(tcp_frame(200), {}));
  auto sent = device.take_available();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(device.read(sent[0]).size(), net_header_size + 104);
  EXPECT_EQ(device.read(sent[1]).size(), net_header_size + 105);
  EXPECT_EQ(queue->held(), 2u);
  device.use(heads[2].id, 0);
  device.use(heads[3].id, 0);
  EXPECT_FALSE(queue->ready()) << "the buffers back took the rest";
  EXPECT_NE(device.used_event(), device.used_index()) << "no more interrupts once nothing is held";
  sent = device.take_available();
  ASSERT_EQ(sent.size(), 2u);
  auto bytes = device.read(sent[1]);
  auto expected = tcp_frame(200);
  ASSERT_EQ(bytes.size(), net_header_size + expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), bytes.begin() + net_header_size));
  EXPECT_EQ(queue->held(), 0u);
}

TEST_F(VirtioNetTransmitTest, FramesBeyondWhatCanBeHeldAreRefused) {
  auto queue = create(all, 4096, 4);
  for (std::size_t i = 0; i < 4 + NetTransmitQueue::held_frames; ++i)
    ASSERT_TRUE(queue->write(tcp_frame(100), {})) << i;
  auto full_before = counter("virtio_net.tx_ring_full");
  EXPECT_EQ(queue->write(tcp_frame(100), {}).error().code, Errc::would_block);
  EXPECT_EQ(queue->held(), NetTransmitQueue::held_frames);
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 4u);
  device.use(heads[0].id, 0);
  // A segmentation frame longer than a held slot is refused rather than held.
  EXPECT_EQ(queue->write(tcp_frame(20'000), tso(1448)).error().code, Errc::would_block);
  EXPECT_EQ(counter("virtio_net.tx_ring_full"), full_before + 2);
  EXPECT_EQ(device.take_available().size(), 1u) << "the first held frame went out";
}

// ---- Receive ----

class VirtioNetReceiveTest : public ::testing::Test {
protected:
  static constexpr std::size_t buffer_size = 1024;

  void SetUp() override { give_the_heap_memory(); }

  std::unique_ptr<NetReceiveQueue> create(NetOffloads offloads, bool mergeable = true,
                                          std::size_t header_size = net_header_size) {
    auto queue = NetReceiveQueue::create(device, {0, 16, false, header_size, buffer_size, offloads}, mergeable);
    EXPECT_TRUE(queue.has_value());
    if (!queue) return nullptr;
    (*queue)->fill();
    (*queue)->flush();
    offered = device.take_available();
    EXPECT_EQ(offered.size(), 16u);
    return std::move(*queue);
  }

  // Delivers `frame` as the device would: header (num_buffers set) and data
  // across as many offered buffers as needed; `publish` false holds the used index back.
  std::size_t deliver(const std::vector<std::byte>& frame, std::vector<std::byte> header = {}, bool publish = true) {
    if (header.empty()) header.assign(net_header_size, std::byte{0});
    std::vector<std::byte> bytes = header;
    bytes.insert(bytes.end(), frame.begin(), frame.end());
    std::size_t count = (bytes.size() + buffer_size - 1) / buffer_size;
    if (header.size() == net_header_size) {
      bytes[10] = static_cast<std::byte>(count);
      bytes[11] = static_cast<std::byte>(count >> 8);
    }
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_FALSE(offered.empty());
      if (offered.empty()) return i;
      auto buffer = offered.front();
      offered.erase(offered.begin());
      auto length = std::min(buffer_size, bytes.size() - i * buffer_size);
      FakeDevice::write(buffer, std::span(bytes).subspan(i * buffer_size, length));
      device.use(buffer.id, static_cast<std::uint32_t>(length), publish && i + 1 == count);
    }
    return count;
  }

  // After the queue notifies: the buffers it offered again join those the device holds.
  // Returns whether the device holds every buffer again.
  [[nodiscard]] bool every_buffer_offered(NetReceiveQueue& queue) {
    queue.flush();
    auto refilled = device.take_available();
    offered.insert(offered.end(), refilled.begin(), refilled.end());
    return offered.size() == device.size;
  }

  FakeDevice device;
  std::vector<FakeDevice::Buffer> offered;
};

TEST_F(VirtioNetReceiveTest, FrameOverSeveralBuffersIsAssembled) {
  auto queue = create(all);
  auto frame = tcp_frame(3000); // 12 + 3000 bytes: 3 buffers
  std::vector<std::byte> header(net_header_size);
  header[0] = std::byte{1};
  header[6] = std::byte{tcp_start};
  header[8] = std::byte{tcp_checksum_offset};
  header[1] = std::byte{1};
  header[4] = std::byte{0xa8};
  header[5] = std::byte{0x05};
  auto merged = counter("virtio_net.rx_merged");
  ASSERT_EQ(deliver(frame, header), 3u);
  std::vector<std::byte> buffer(max_offload_frame);
  FrameOffload offload;
  auto length = queue->read(buffer, offload);
  ASSERT_TRUE(length);
  ASSERT_EQ(*length, frame.size());
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin()));
  EXPECT_TRUE(offload.checksum_partial);
  EXPECT_EQ(offload.checksum_start, tcp_start);
  EXPECT_EQ(offload.segment_size, 1448);
  EXPECT_EQ(counter("virtio_net.rx_merged"), merged + 1);
  EXPECT_EQ(queue->read(buffer, offload).value(), 0u);
  EXPECT_TRUE(every_buffer_offered(*queue));
}

TEST_F(VirtioNetReceiveTest, SixtyFourKilobyteFrameOverManyBuffersAcrossRefills) {
  auto queue = create(all);
  std::vector<std::byte> buffer(max_offload_frame);
  std::vector<std::byte> header(net_header_size);
  header[1] = std::byte{1};
  header[4] = std::byte{0xa8};
  header[5] = std::byte{0x05};
  for (int round = 0; round < 8; ++round) {
    auto frame = tcp_frame(12 * buffer_size - net_header_size - round); // 12 of the 16 buffers
    ASSERT_EQ(deliver(frame, header), 12u);
    FrameOffload offload;
    auto length = queue->read(buffer, offload);
    ASSERT_TRUE(length) << round;
    ASSERT_EQ(*length, frame.size());
    ASSERT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin())) << round;
    ASSERT_TRUE(every_buffer_offered(*queue)) << round;
  }
}

TEST_F(VirtioNetReceiveTest, FrameTooLongForTheReaderIsDroppedCleanly) {
  auto queue = create(all);
  auto too_long = tcp_frame(2500);
  auto next = tcp_frame(700);
  auto dropped = counter("virtio_net.rx_too_long");
  ASSERT_EQ(deliver(too_long), 3u);
  ASSERT_EQ(deliver(next), 1u);
  std::vector<std::byte> buffer(2000);
  FrameOffload offload;
  auto read = queue->read(buffer, offload);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::no_space);
  EXPECT_EQ(counter("virtio_net.rx_too_long"), dropped + 1);
  auto length = queue->read(buffer, offload);
  ASSERT_TRUE(length);
  ASSERT_EQ(*length, next.size()) << "the next frame, not the rest of the long one";
  EXPECT_TRUE(std::equal(next.begin(), next.end(), buffer.begin()));
  EXPECT_EQ(queue->read(buffer, offload).value(), 0u);
  EXPECT_TRUE(every_buffer_offered(*queue));
}

TEST_F(VirtioNetReceiveTest, FrameWaitsUntilAllItsBuffersAreUsed) {
  auto queue = create(all);
  auto frame = tcp_frame(2500);
  // The device writes the entries of the first two buffers and publishes them
  // (the index, then the last): the frame is read only once whole.
  std::vector<std::byte> header(net_header_size);
  std::vector<std::byte> bytes = header;
  bytes.insert(bytes.end(), frame.begin(), frame.end());
  bytes[10] = std::byte{3};
  for (std::size_t i = 0; i < 3; ++i) {
    auto length = std::min(buffer_size, bytes.size() - i * buffer_size);
    FakeDevice::write(offered[i], std::span(bytes).subspan(i * buffer_size, length));
  }
  device.use(offered[0].id, static_cast<std::uint32_t>(buffer_size));
  device.use(offered[1].id, static_cast<std::uint32_t>(buffer_size));
  std::vector<std::byte> buffer(4000);
  FrameOffload offload;
  EXPECT_EQ(queue->read(buffer, offload).value(), 0u);
  EXPECT_EQ(queue->read(buffer, offload).value(), 0u);
  device.use(offered[2].id, static_cast<std::uint32_t>(bytes.size() - 2 * buffer_size));
  auto length = queue->read(buffer, offload);
  ASSERT_TRUE(length);
  ASSERT_EQ(*length, frame.size());
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin()));
}

TEST_F(VirtioNetReceiveTest, MetadataNotNegotiatedOrMalformedIsDropped) {
  auto queue = create({}); // no offloads: plain frames only
  auto malformed = counter("virtio_net.rx_malformed");
  std::vector<std::byte> valid(net_header_size);
  valid[0] = std::byte{2}; // DATA_VALID without GUEST_CSUM
  ASSERT_EQ(deliver(tcp_frame(100), valid), 1u);
  std::vector<std::byte> gso(net_header_size);
  gso[1] = std::byte{1}; // TCPV4 without GUEST_TSO4
  gso[4] = std::byte{100};
  ASSERT_EQ(deliver(tcp_frame(100), gso), 1u);
  auto plain = tcp_frame(300);
  ASSERT_EQ(deliver(plain), 1u);
  // A used length past the buffer, and one shorter than the header.
  device.use(offered[0].id, static_cast<std::uint32_t>(buffer_size + 1));
  device.use(offered[1].id, 5);
  offered.erase(offered.begin(), offered.begin() + 2);
  std::vector<std::byte> buffer(4000);
  FrameOffload offload;
  auto length = queue->read(buffer, offload);
  ASSERT_TRUE(length);
  EXPECT_EQ(*length, plain.size());
  EXPECT_EQ(queue->read(buffer, offload).value(), 0u);
  EXPECT_EQ(counter("virtio_net.rx_malformed"), malformed + 4);
  EXPECT_TRUE(every_buffer_offered(*queue));
}

TEST_F(VirtioNetReceiveTest, WithoutMergeableBuffersEachBufferIsAFrame) {
  auto queue = create({}, false, net_header_size_without_buffers);
  std::vector<std::byte> header(net_header_size_without_buffers);
  auto frame = tcp_frame(900);
  ASSERT_EQ(deliver(frame, header), 1u);
  std::vector<std::byte> buffer(2000);
  FrameOffload offload;
  auto length = queue->read(buffer, offload);
  ASSERT_TRUE(length);
  ASSERT_EQ(*length, frame.size());
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), buffer.begin()));
}

TEST_F(VirtioNetReceiveTest, ReadyAsksForAnInterruptAndSaysWhetherFramesWait) {
  auto queue = create(all);
  EXPECT_FALSE(queue->ready());
  ASSERT_EQ(deliver(tcp_frame(100)), 1u);
  EXPECT_TRUE(queue->ready());
}

} // namespace
} // namespace morgana::pvh::virtio
