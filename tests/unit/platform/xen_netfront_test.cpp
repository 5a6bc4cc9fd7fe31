#include "morgana/platform/pvh/xen_netfront.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "counters.h"
#include "pvh_heap.h"
#include "xen_fake.h"

namespace morgana::pvh::xen {
namespace {

// What netfront says about a received frame, where a test does not look.
FrameOffload received_offload;

using morgana::test_support::CounterWatch;
using test::FakeNetback;
using test::FakeXen;
using test::FakeXenstored;
using test::NetbackDelivery;
using test::NetbackExtra;
using test::Pages;

constexpr std::int64_t second = 1'000'000'000;

std::vector<std::byte> frame_of(std::size_t size, unsigned seed) {
  std::vector<std::byte> frame(size);
  for (std::size_t i = 0; i < size; ++i) frame[i] = std::byte(static_cast<unsigned char>(seed * 31 + i * 7));
  return frame;
}

class NetfrontTest : public ::testing::Test {
protected:
  NetfrontTest() {
    morgana::test_support::give_the_heap_memory();
    xen.run_backends = [this] {
      xenstored.step();
      netback.step();
    };
    netback.write_toolstack_keys();
  }

  Result<std::unique_ptr<Netfront>> connect() {
    return Netfront::create(store, *grants, xen, "device/vif/0", allowed, xen.now + 5 * second);
  }
  std::unique_ptr<Netfront> connected() {
    auto device = connect();
    if (!device) ADD_FAILURE() << "netfront: " << device.error().message() << " " << device.error().context;
    return device ? std::move(*device) : nullptr;
  }
  std::string key(std::string_view name) { return xenstored.tree["/local/domain/7/device/vif/0/" + std::string(name)]; }
  std::string& backend_key(std::string_view name) {
    return xenstored.tree["/local/domain/0/backend/vif/7/0/" + std::string(name)];
  }
  // Reads until no frame waits.
  std::vector<std::vector<std::byte>> read_all(Netfront& net) {
    std::vector<std::vector<std::byte>> frames;
    std::byte buffer[2048];
    while (true) {
      auto length = net.read(buffer, received_offload);
      EXPECT_TRUE(length);
      if (!length || *length == 0) return frames;
      frames.emplace_back(buffer, buffer + *length);
    }
  }

  // Reads one frame of up to max_offload_frame bytes: empty when none waits or on an error.
  std::vector<std::byte> read_large(Netfront& net, FrameOffload& offload) {
    std::vector<std::byte> buffer(max_offload_frame);
    auto length = net.read(buffer, offload);
    EXPECT_TRUE(length);
    buffer.resize(length ? *length : 0);
    return buffer;
  }

  Pages store_page{1};
  // --offload=none unless a test allows more: the device as it was before offloads.
  NetOffloads allowed;
  Pages grant_frames{2};
  FakeXen xen;
  FakeXenstored xenstored{store_page.span(), "/local/domain/7"};
  Store store{store_page.span(), xen, 3};
  std::unique_ptr<GrantTable> grants = std::move(*GrantTable::create(grant_frames.span()));
  FakeNetback netback{xen, xenstored, grant_frames.span(), "/local/domain/7/device/vif/0",
                      "/local/domain/0/backend/vif/7/0"};
};

TEST_F(NetfrontTest, TheHandshakePublishesRingsAndChannelAndWaitsForTheBackend) {
  netback.willing = false;
  xen.run_backends = [this] {
    xenstored.step();
    // The back end takes a while to notice.
    netback.willing = xen.now >= 200'000'000;
    netback.step();
  };
  auto net = connected();
  ASSERT_TRUE(net);
  EXPECT_GE(xen.now, 200'000'000);
  EXPECT_TRUE(netback.connected());
  EXPECT_EQ(net->mac(), (MacAddress{{0x00, 0x16, 0x3e, 0x12, 0x34, 0x56}}));
  EXPECT_EQ(net->mtu(), 1500);
  EXPECT_EQ(key("state"), "4");
  EXPECT_EQ(key("request-rx-copy"), "1");
  EXPECT_EQ(key("feature-rx-notify"), "1");
  EXPECT_EQ(key("feature-no-csum-offload"), "1");
  EXPECT_EQ(key("feature-sg"), "0");
  EXPECT_EQ(key("feature-gso-tcpv4"), "0");
  EXPECT_EQ(net->offloads(), NetOffloads{});
  EXPECT_EQ(key("event-channel"), std::to_string(net->event_channel()));
  EXPECT_EQ(xen.unbound[net->event_channel()], 0);
  EXPECT_TRUE(xen.unmasked.contains(net->event_channel()));
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, ABackendThatNeverConnectsTimesOutAndEveryGrantIsTakenBack) {
  auto free_before = grants->free_count();
  netback.willing = false;
  auto net = connect();
  ASSERT_FALSE(net);
  EXPECT_EQ(net.error(), Errc::timed_out);
  EXPECT_EQ(grants->free_count(), free_before);
}

TEST_F(NetfrontTest, ClosingTakesBackEveryGrantUnlessTheBackendStillMapsAPage) {
  auto free_before = grants->free_count();
  auto net = connected();
  ASSERT_TRUE(net);
  EXPECT_EQ(grants->free_count(), free_before - 2 - Netfront::receive_slots - Netfront::transmit_slots);
  net.reset();
  EXPECT_EQ(grants->free_count(), free_before);

  net = connected();
  ASSERT_TRUE(net);
  // The back end keeps the receive ring's page mapped: that grant stays, and the pages with it.
  auto rx_ref = static_cast<GrantRef>(std::stoul(key("rx-ring-ref")));
  std::atomic_ref(*reinterpret_cast<std::uint16_t*>(grant_frames.data() + std::size_t{rx_ref} * 8))
      .fetch_or(GrantTable::writing);
  net.reset();
  EXPECT_EQ(grants->free_count(), free_before - 1);
}

TEST_F(NetfrontTest, ABackendThatClosesFailsTheHandshake) {
  netback.willing = false;
  backend_key("state") = "6";
  EXPECT_EQ(connect().error(), Errc::closed);
}

TEST_F(NetfrontTest, BadToolstackKeysAreRefused) {
  backend_key("feature-rx-copy") = "0";
  EXPECT_EQ(connect().error(), Errc::unsupported);
  backend_key("feature-rx-copy") = "1";
  xenstored.tree["/local/domain/7/device/vif/0/mac"] = "00:16:3e:12:34";
  EXPECT_FALSE(connect());
  xenstored.tree["/local/domain/7/device/vif/0/mac"] = "01:16:3e:12:34:56";
  EXPECT_EQ(connect().error(), Errc::malformed);
  xenstored.tree["/local/domain/7/device/vif/0/mac"] = "00:16:3e:12:34:56";
  xenstored.tree["/local/domain/7/device/vif/0/backend-id"] = "70000";
  EXPECT_FALSE(connect());
  xenstored.tree["/local/domain/7/device/vif/0/backend-id"] = "0";
  xenstored.tree["/local/domain/7/device/vif/0/backend"] = std::string(300, 'b');
  EXPECT_EQ(connect().error(), Errc::malformed);
}

TEST_F(NetfrontTest, AConflictingTransactionIsRetried) {
  xenstored.conflicting_commits = 2;
  auto net = connected();
  ASSERT_TRUE(net);
  EXPECT_EQ(key("state"), "4");
}

TEST_F(NetfrontTest, FramesGoOutByteExactAcrossRingWrapAround) {
  auto net = connected();
  ASSERT_TRUE(net);
  for (unsigned i = 0; i < 1000; ++i) {
    auto frame = frame_of(60 + i % 1455, i);
    ASSERT_TRUE(net->write(frame, {})) << i;
    ASSERT_EQ(netback.sent.size(), i + 1);
    ASSERT_EQ(netback.sent.back(), frame) << i;
  }
  auto too_long = frame_of(Netfront::max_frame + 1, 0);
  CounterWatch dropped("netfront.tx_too_long");
  EXPECT_EQ(net->write(too_long, {}).error(), Errc::no_space);
  EXPECT_EQ(dropped.delta(), 1u);
  EXPECT_TRUE(net->write(frame_of(Netfront::max_frame, 0), {}));
}

TEST_F(NetfrontTest, AFullTransmitRingWouldBlockUntilTheBackendAnswers) {
  auto net = connected();
  ASSERT_TRUE(net);
  netback.take_transmits = false;
  for (unsigned i = 0; i < Netfront::transmit_slots; ++i) ASSERT_TRUE(net->write(frame_of(100, i), {})) << i;
  CounterWatch full("netfront.tx_ring_full");
  EXPECT_EQ(net->write(frame_of(100, 0), {}).error(), Errc::would_block);
  EXPECT_EQ(full.delta(), 1u);
  netback.take_transmits = true;
  netback.step();
  ASSERT_EQ(netback.sent.size(), Netfront::transmit_slots);
  for (unsigned i = 0; i < Netfront::transmit_slots; ++i) EXPECT_EQ(netback.sent[i], frame_of(100, i)) << i;
  EXPECT_TRUE(net->write(frame_of(100, 999), {}));
  EXPECT_EQ(netback.sent.back(), frame_of(100, 999));
}

TEST_F(NetfrontTest, TransmitNotifiesOnlyWhenTheBackendAsks) {
  auto net = connected();
  ASSERT_TRUE(net);
  auto port = net->event_channel();
  ASSERT_TRUE(net->write(frame_of(100, 1), {}));
  EXPECT_EQ(xen.notifications[port], 1);
  // A back end that polls leaves req_event behind: no more events.
  netback.rearm_requests = false;
  ASSERT_TRUE(net->write(frame_of(100, 2), {}));
  EXPECT_EQ(xen.notifications[port], 2);
  ASSERT_TRUE(net->write(frame_of(100, 3), {}));
  ASSERT_TRUE(net->write(frame_of(100, 4), {}));
  EXPECT_EQ(xen.notifications[port], 2);
  EXPECT_EQ(netback.sent.size(), 2u); // the last two wait for the back end to poll
  netback.step();
  EXPECT_EQ(netback.sent.size(), 4u);
}

TEST_F(NetfrontTest, BadTransmitResponsesAreCountedAndIgnored) {
  auto net = connected();
  ASSERT_TRUE(net);
  CounterWatch bad_id("netfront.tx_bad_id"), error("netfront.tx_error");
  netback.transmit_status = -1;
  ASSERT_TRUE(net->write(frame_of(100, 1), {}));
  ASSERT_TRUE(net->write(frame_of(100, 2), {})); // reclaims the first
  EXPECT_EQ(error.delta(), 1u);
  netback.transmit_status = 0;
  netback.transmit_response_id = 9999;
  ASSERT_TRUE(net->write(frame_of(100, 3), {}));
  ASSERT_TRUE(net->write(frame_of(100, 4), {}));
  EXPECT_EQ(bad_id.delta(), 1u);
}

TEST_F(NetfrontTest, FramesComeInByteExactAndBuffersAreRepostedAcrossWrapAround) {
  auto net = connected();
  ASSERT_TRUE(net);
  std::byte buffer[2048];
  EXPECT_EQ(*net->read(buffer, received_offload), 0u);
  for (unsigned i = 0; i < 1000; ++i) {
    auto frame = frame_of(60 + i % 1455, i);
    ASSERT_TRUE(netback.deliver(frame)) << i;
    auto length = net->read(buffer, received_offload);
    ASSERT_TRUE(length);
    ASSERT_EQ(std::vector<std::byte>(buffer, buffer + *length), frame) << i;
  }
  EXPECT_EQ(*net->read(buffer, received_offload), 0u);
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, AFullReceiveRingDrainsInOrder) {
  auto net = connected();
  ASSERT_TRUE(net);
  for (unsigned i = 0; i < Netfront::receive_slots; ++i) ASSERT_TRUE(netback.deliver(frame_of(200, i)));
  EXPECT_FALSE(netback.deliver(frame_of(200, 0)));
  auto frames = read_all(*net);
  ASSERT_EQ(frames.size(), Netfront::receive_slots);
  for (unsigned i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i], frame_of(200, i)) << i;
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
  EXPECT_TRUE(netback.deliver(frame_of(200, 7)));
  EXPECT_EQ(read_all(*net).size(), 1u);
}

TEST_F(NetfrontTest, BadReceiveResponsesAreCountedDroppedAndTheirBuffersReposted) {
  auto net = connected();
  ASSERT_TRUE(net);
  morgana::test_support::CounterWatches drops{"netfront.rx_error", "netfront.rx_malformed", "netfront.rx_bad_id"};
  CounterWatch split("netfront.rx_split");
  auto good = frame_of(100, 1);
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.status = -1}));
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.offset = 4000}));
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.id = 300}));
  // A frame over two buffers (more data), and one with an extra-info slot after it.
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.flags = netif::rx_more_data}));
  ASSERT_TRUE(netback.deliver(good));
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.flags = netif::rx_extra_info}));
  ASSERT_TRUE(netback.deliver(good));
  ASSERT_TRUE(netback.deliver(good, NetbackDelivery{.offset = 96}));
  auto frames = read_all(*net);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], good);
  EXPECT_EQ(drops.deltas(), drops.each(1));
  EXPECT_EQ(split.delta(), 2u);
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, AFrameLongerThanTheReadersBufferIsDropped) {
  auto net = connected();
  ASSERT_TRUE(net);
  ASSERT_TRUE(netback.deliver(frame_of(1000, 1)));
  ASSERT_TRUE(netback.deliver(frame_of(50, 2)));
  CounterWatch too_long("netfront.rx_too_long");
  std::byte small[500];
  EXPECT_EQ(net->read(small, received_offload).error(), Errc::no_space);
  EXPECT_EQ(too_long.delta(), 1u);
  auto length = net->read(small, received_offload);
  ASSERT_TRUE(length);
  EXPECT_EQ(std::vector<std::byte>(small, small + *length), frame_of(50, 2));
}

TEST_F(NetfrontTest, AnEmptyReadAsksForAnEventAtTheNextFrame) {
  auto net = connected();
  ASSERT_TRUE(net);
  auto port = net->event_channel();
  ASSERT_TRUE(netback.deliver(frame_of(80, 1)));
  ASSERT_TRUE(netback.deliver(frame_of(80, 2)));
  xen.pending.clear();
  EXPECT_EQ(read_all(*net).size(), 2u);
  EXPECT_FALSE(net->input_pending());
  auto notified = netback.frontend_notified;
  ASSERT_TRUE(netback.deliver(frame_of(80, 3)));
  EXPECT_EQ(netback.frontend_notified, notified + 1);
  EXPECT_TRUE(xen.pending.contains(port));
  EXPECT_TRUE(net->input_pending());
  EXPECT_FALSE(xen.pending.contains(port));
  EXPECT_EQ(read_all(*net).size(), 1u);
}

// Offloads (issue 13): what is negotiated, and frames with their metadata both ways.

constexpr NetOffloads all_offloads{true, true, true, true};
constexpr std::uint16_t tx_checksum_flags = netif::tx_csum_blank | netif::tx_data_validated;

// A TCP/IPv4 frame (Ethernet, 20-byte IPv4 header, protocol 6) with patterned bytes after the headers.
std::vector<std::byte> tcp_frame(std::size_t size, unsigned seed) {
  auto frame = frame_of(size, seed);
  frame[12] = std::byte{0x08};
  frame[13] = std::byte{0x00};
  frame[14] = std::byte{0x45};
  frame[23] = std::byte{6};
  return frame;
}

TEST_F(NetfrontTest, OffloadsAreWhatIsAllowedAndWhatTheBackendOffers) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  EXPECT_EQ(net->offloads(), all_offloads);
  EXPECT_EQ(key("feature-no-csum-offload"), "0");
  EXPECT_EQ(key("feature-sg"), "1");
  EXPECT_EQ(key("feature-gso-tcpv4"), "1");
  net.reset();

  // A back end without scatter-gather or without GSO takes no large frames;
  // it still takes csum_blank ones and can send us anything.
  for (const char* missing : {"feature-sg", "feature-gso-tcpv4"}) {
    backend_key(missing) = "0";
    net = connected();
    ASSERT_TRUE(net);
    EXPECT_EQ(net->offloads(), (NetOffloads{true, true, false, true})) << missing;
    net.reset();
    backend_key(missing) = "1";
  }

  allowed = {.tx_checksum = true, .rx_checksum = true};
  net = connected();
  ASSERT_TRUE(net);
  EXPECT_EQ(net->offloads(), allowed);
  EXPECT_EQ(key("feature-no-csum-offload"), "0");
  EXPECT_EQ(key("feature-sg"), "0");
  EXPECT_EQ(key("feature-gso-tcpv4"), "0");
}

TEST_F(NetfrontTest, ChecksumPartialFramesGoOutCsumBlankOnlyWhenNegotiated) {
  auto net = connected();
  ASSERT_TRUE(net);
  FrameOffload partial{.checksum_partial = true, .checksum_start = 34, .checksum_offset = 16};
  CounterWatch refused("netfront.tx_bad_offload");
  EXPECT_EQ(net->write(tcp_frame(200, 1), partial).error(), Errc::unsupported);
  EXPECT_EQ(net->write(tcp_frame(200, 1), FrameOffload{.segment_size = 1448}).error(), Errc::unsupported);
  EXPECT_EQ(refused.delta(), 2u);
  EXPECT_TRUE(netback.sent.empty());
  net.reset();

  allowed = all_offloads;
  net = connected();
  ASSERT_TRUE(net);
  ASSERT_TRUE(net->write(tcp_frame(200, 2), partial));
  ASSERT_TRUE(net->write(tcp_frame(300, 3), {}));
  ASSERT_EQ(netback.sent.size(), 2u);
  EXPECT_EQ(netback.sent[0], tcp_frame(200, 2));
  EXPECT_EQ(netback.sent_with[0].flags, tx_checksum_flags);
  EXPECT_EQ(netback.sent_with[0].slots, 1u);
  EXPECT_FALSE(netback.sent_with[0].extra);
  EXPECT_EQ(netback.sent[1], tcp_frame(300, 3));
  EXPECT_EQ(netback.sent_with[1].flags, 0);
}

TEST_F(NetfrontTest, LargeFramesGoOutOverPagesWithAGsoEntryAcrossRingWrapAround) {
  allowed = all_offloads;
  auto free_before = grants->free_count();
  auto net = connected();
  ASSERT_TRUE(net);
  CounterWatch bad_id("netfront.tx_bad_id"), error("netfront.tx_error");
  FrameOffload segmented{.checksum_partial = true, .checksum_start = 34, .checksum_offset = 16, .segment_size = 1448};
  // Sizes around page multiples, up to the largest a request can say.
  const std::size_t sizes[] = {1600, 4095, 4096, 4097, 8192, 30000, 65535 - 4096, 65535};
  CounterWatch large("netfront.tx_large");
  for (unsigned i = 0; i < 200; ++i) {
    auto size = sizes[i % std::size(sizes)];
    auto frame = tcp_frame(size, i);
    ASSERT_TRUE(net->write(frame, segmented)) << i;
    ASSERT_EQ(netback.sent.size(), i + 1);
    ASSERT_EQ(netback.sent.back(), frame) << i;
    const auto& with = netback.sent_with.back();
    EXPECT_EQ(with.slots, (size + 4095) / 4096) << size;
    EXPECT_EQ(with.flags, tx_checksum_flags | netif::tx_extra_info | (size > 4096 ? netif::tx_more_data : 0)) << size;
    ASSERT_TRUE(with.extra);
    EXPECT_EQ(with.extra->type, netif::extra_type_gso);
    EXPECT_EQ(with.extra->gso_size, 1448);
    EXPECT_EQ(with.extra->gso_type, netif::gso_type_tcpv4);
  }
  EXPECT_EQ(large.delta(), 200u);
  // Every response came back, the extra entries' NETIF_RSP_NULL ones with a meaningless id.
  EXPECT_EQ(bad_id.delta(), 0u);
  EXPECT_EQ(error.delta(), 0u);

  CounterWatch too_long("netfront.tx_too_long");
  EXPECT_EQ(net->write(tcp_frame(65536, 0), segmented).error(), Errc::no_space);
  // A frame over the MTU must say how to cut it.
  EXPECT_EQ(net->write(tcp_frame(Netfront::max_frame + 1, 0), {}).error(), Errc::no_space);
  EXPECT_EQ(too_long.delta(), 2u);
  net.reset();
  EXPECT_EQ(grants->free_count(), free_before);
}

TEST_F(NetfrontTest, LargeFramesWouldBlockUntilEnoughSlotsAreFree) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  netback.take_transmits = false;
  FrameOffload segmented{.checksum_partial = true, .checksum_start = 34, .checksum_offset = 16, .segment_size = 1448};
  // 16 pages and a GSO entry each: 15 such frames fill the 256-entry ring.
  unsigned written = 0;
  while (net->write(tcp_frame(65535, written), segmented)) ++written;
  EXPECT_EQ(written, Netfront::transmit_slots / 17);
  CounterWatch full("netfront.tx_ring_full");
  EXPECT_EQ(net->write(tcp_frame(65535, 99), segmented).error(), Errc::would_block);
  EXPECT_EQ(full.delta(), 1u);
  // Small frames still fit in what is left.
  ASSERT_TRUE(net->write(tcp_frame(100, 100), {}));
  netback.take_transmits = true;
  netback.step();
  ASSERT_EQ(netback.sent.size(), written + 1);
  for (unsigned i = 0; i < written; ++i) EXPECT_EQ(netback.sent[i], tcp_frame(65535, i)) << i;
  EXPECT_EQ(netback.sent.back(), tcp_frame(100, 100));
  EXPECT_TRUE(net->write(tcp_frame(65535, 7), segmented));
  EXPECT_EQ(netback.sent.back(), tcp_frame(65535, 7));
}

TEST_F(NetfrontTest, ReceivedChecksumFlagsBecomeFrameOffloads) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  std::byte buffer[2048];
  FrameOffload offload;
  auto tcp = tcp_frame(500, 1);
  ASSERT_TRUE(netback.deliver(tcp, NetbackDelivery{.flags = netif::rx_csum_blank | netif::rx_data_validated}));
  ASSERT_EQ(*net->read(buffer, offload), tcp.size());
  EXPECT_TRUE(offload.checksum_partial);
  EXPECT_FALSE(offload.checksum_valid);
  EXPECT_EQ(offload.checksum_start, 34);
  EXPECT_EQ(offload.checksum_offset, 16);
  EXPECT_EQ(offload.segment_size, 0);

  auto udp = tcp_frame(300, 2);
  udp[23] = std::byte{17};
  udp[14] = std::byte{0x46}; // a 24-byte IPv4 header
  ASSERT_TRUE(netback.deliver(udp, NetbackDelivery{.flags = netif::rx_csum_blank}));
  ASSERT_EQ(*net->read(buffer, offload), udp.size());
  EXPECT_TRUE(offload.checksum_partial);
  EXPECT_EQ(offload.checksum_start, 38);
  EXPECT_EQ(offload.checksum_offset, 6);

  ASSERT_TRUE(netback.deliver(tcp, NetbackDelivery{.flags = netif::rx_data_validated}));
  ASSERT_EQ(*net->read(buffer, offload), tcp.size());
  EXPECT_FALSE(offload.checksum_partial);
  EXPECT_TRUE(offload.checksum_valid);

  ASSERT_TRUE(netback.deliver(tcp));
  ASSERT_EQ(*net->read(buffer, offload), tcp.size());
  EXPECT_FALSE(offload.checksum_partial || offload.checksum_valid);

  // A blank checksum in a frame that is not TCP or UDP over IPv4 cannot be placed.
  CounterWatch unplaced("netfront.rx_bad_csum_blank");
  auto icmp = tcp_frame(100, 3);
  icmp[23] = std::byte{1};
  ASSERT_TRUE(netback.deliver(icmp, NetbackDelivery{.flags = netif::rx_csum_blank}));
  ASSERT_TRUE(netback.deliver(tcp, NetbackDelivery{.flags = netif::rx_csum_blank}));
  ASSERT_EQ(*net->read(buffer, offload), tcp.size());
  EXPECT_TRUE(offload.checksum_partial);
  EXPECT_EQ(unplaced.delta(), 1u);
  EXPECT_EQ(*net->read(buffer, offload), 0u);
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, ReceivedChecksumFlagsAreIgnoredWithoutRxCsum) {
  allowed = {.tx_checksum = true};
  auto net = connected();
  ASSERT_TRUE(net);
  std::byte buffer[2048];
  FrameOffload offload;
  ASSERT_TRUE(netback.deliver(tcp_frame(500, 1), NetbackDelivery{.flags = netif::rx_csum_blank}));
  ASSERT_TRUE(netback.deliver(tcp_frame(500, 2), NetbackDelivery{.flags = netif::rx_data_validated}));
  for (unsigned i = 1; i <= 2; ++i) {
    ASSERT_EQ(*net->read(buffer, offload), 500u);
    EXPECT_FALSE(offload.checksum_partial || offload.checksum_valid) << i;
  }
}

TEST_F(NetfrontTest, LargeFramesComeInOverSeveralBuffersWithTheirGsoSize) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  FrameOffload offload;
  CounterWatch large("netfront.rx_large"), blank("netfront.rx_csum_blank");
  const std::size_t sizes[] = {65535, 4096, 4097, 20000, 1514};
  for (unsigned i = 0; i < 100; ++i) {
    auto frame = tcp_frame(sizes[i % std::size(sizes)], i);
    ASSERT_TRUE(netback.deliver_chain(frame, 4096, netif::rx_csum_blank | netif::rx_data_validated,
                                      {NetbackExtra{.gso_size = 1448}}))
        << i;
    ASSERT_EQ(read_large(*net, offload), frame) << i;
    EXPECT_EQ(offload.segment_size, 1448);
    EXPECT_TRUE(offload.checksum_partial);
  }
  EXPECT_EQ(large.delta(), 100u);
  EXPECT_EQ(blank.delta(), 100u);
  // Pieces of any size, and a multicast entry beside the GSO one (ignored).
  auto frame = tcp_frame(9000, 5);
  ASSERT_TRUE(netback.deliver_chain(frame, 1000, 0, {NetbackExtra{.type = 2}, NetbackExtra{.gso_size = 536}}));
  EXPECT_EQ(read_large(*net, offload), frame);
  EXPECT_EQ(offload.segment_size, 536);
  EXPECT_FALSE(offload.checksum_partial);
  EXPECT_TRUE(read_large(*net, offload).empty());
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, AFrameWhoseRestIsNotThereYetWaitsForIt) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  auto port = net->event_channel();
  auto frame = tcp_frame(10000, 1);
  auto piece = [&](std::size_t i) {
    return std::span(frame).subspan(i * 4096, std::min<std::size_t>(4096, 10000 - i * 4096));
  };
  ASSERT_TRUE(netback.deliver(piece(0), NetbackDelivery{.flags = netif::rx_more_data | netif::rx_extra_info}));
  EXPECT_TRUE(read_large(*net, received_offload).empty());
  ASSERT_TRUE(netback.deliver_extra(NetbackExtra{.gso_size = 1448}));
  ASSERT_TRUE(netback.deliver(piece(1), NetbackDelivery{.flags = netif::rx_more_data}));
  EXPECT_TRUE(read_large(*net, received_offload).empty());
  EXPECT_FALSE(net->input_pending());
  xen.pending.clear();
  // The last piece raises an event: the front end asked for one past what it had taken.
  ASSERT_TRUE(netback.deliver(piece(2)));
  EXPECT_TRUE(xen.pending.contains(port));
  EXPECT_TRUE(net->input_pending());
  EXPECT_EQ(read_large(*net, received_offload), frame);
  EXPECT_EQ(received_offload.segment_size, 1448);
  EXPECT_TRUE(read_large(*net, received_offload).empty());
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, MalformedLargeFramesAreCountedDroppedAndTheirBuffersReposted) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  morgana::test_support::CounterWatches drops{"netfront.rx_bad_gso", "netfront.rx_bad_extra", "netfront.rx_too_long",
                                              "netfront.rx_long_chain"};
  using Moved = std::map<std::string_view, std::uint64_t>;
  auto good = tcp_frame(6000, 1);
  auto read_good = [&] { return read_large(*net, received_offload) == good; };
  // A GSO type other than TCP/IPv4, and a GSO size of 0.
  ASSERT_TRUE(netback.deliver_chain(tcp_frame(9000, 2), 4096, 0, {NetbackExtra{.gso_size = 1448, .gso_type = 2}}));
  ASSERT_TRUE(netback.deliver_chain(tcp_frame(9000, 2), 4096, 0, {NetbackExtra{.gso_size = 0}}));
  ASSERT_TRUE(netback.deliver_chain(good, 4096, 0));
  EXPECT_TRUE(read_good());
  EXPECT_EQ(drops.deltas(), (Moved{{"netfront.rx_bad_gso", 2},
                                   {"netfront.rx_bad_extra", 0},
                                   {"netfront.rx_too_long", 0},
                                   {"netfront.rx_long_chain", 0}}));

  // An extra info entry of no known type, and one announced where a response
  // stands (read as an extra info entry: its id 0 says type 0, no more).
  ASSERT_TRUE(netback.deliver_chain(tcp_frame(5000, 3), 4096, 0, {NetbackExtra{.type = 9}}));
  ASSERT_TRUE(netback.deliver(tcp_frame(100, 4), NetbackDelivery{.flags = netif::rx_extra_info}));
  ASSERT_TRUE(netback.deliver(tcp_frame(100, 4), NetbackDelivery{.id = 0}));
  ASSERT_TRUE(netback.deliver_chain(good, 4096, 0));
  EXPECT_TRUE(read_good());
  EXPECT_EQ(drops.deltas(), (Moved{{"netfront.rx_bad_gso", 2},
                                   {"netfront.rx_bad_extra", 2},
                                   {"netfront.rx_too_long", 0},
                                   {"netfront.rx_long_chain", 0}}));

  // A chain longer than the reader's buffer, then one longer than any frame may be.
  ASSERT_TRUE(netback.deliver_chain(tcp_frame(60000, 5), 4096, 0));
  std::byte small[8192];
  EXPECT_EQ(net->read(small, received_offload).error(), Errc::no_space);
  for (unsigned i = 0; i < 40; ++i)
    ASSERT_TRUE(netback.deliver(tcp_frame(100, i), NetbackDelivery{.flags = netif::rx_more_data}));
  ASSERT_TRUE(netback.deliver(tcp_frame(100, 40)));
  ASSERT_TRUE(netback.deliver_chain(good, 4096, 0));
  EXPECT_TRUE(read_good());
  EXPECT_EQ(drops.deltas(), (Moved{{"netfront.rx_bad_gso", 2},
                                   {"netfront.rx_bad_extra", 2},
                                   {"netfront.rx_too_long", 1},
                                   {"netfront.rx_long_chain", 1}}));
  EXPECT_TRUE(read_large(*net, received_offload).empty());
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

TEST_F(NetfrontTest, AnEndlessChainDoesNotStarveTheBackendOfBuffers) {
  allowed = all_offloads;
  auto net = connected();
  ASSERT_TRUE(net);
  CounterWatch long_chain("netfront.rx_long_chain");
  // More pieces than the ring holds: the back end keeps finding buffers because the front end gives them back.
  std::byte buffer[2048];
  for (unsigned i = 0; i < 3 * Netfront::receive_slots; ++i) {
    ASSERT_TRUE(netback.deliver(tcp_frame(100, i), NetbackDelivery{.flags = netif::rx_more_data})) << i;
    ASSERT_EQ(*net->read(buffer, received_offload), 0u) << i;
  }
  ASSERT_TRUE(netback.deliver(tcp_frame(100, 0)));
  EXPECT_EQ(*net->read(buffer, received_offload), 0u);
  EXPECT_EQ(long_chain.delta(), 1u);
  ASSERT_TRUE(netback.deliver(tcp_frame(100, 1)));
  EXPECT_EQ(*net->read(buffer, received_offload), 100u);
  EXPECT_EQ(*net->read(buffer, received_offload), 0u);
  EXPECT_EQ(netback.posted(), Netfront::receive_slots);
}

} // namespace
} // namespace morgana::pvh::xen
