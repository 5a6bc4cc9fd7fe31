#include "morgana/platform/pvh/xen_netfront.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "counters.h"
#include "pvh_heap.h"
#include "xen_fake.h"

namespace morgana::pvh::xen {
namespace {

// What netfront says about a received frame: it offloads nothing yet.
FrameOffload received_offload;

using morgana::test_support::CounterWatch;
using test::FakeNetback;
using test::FakeXen;
using test::FakeXenstored;
using test::NetbackDelivery;
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
    return Netfront::create(store, *grants, xen, "device/vif/0", xen.now + 5 * second);
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

  Pages store_page{1};
  Pages grant_frames{1};
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
  EXPECT_EQ(grants->free_count(), free_before - 2 - Netfront::receive_slots - Netfront::transmit_slots / 2);
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

} // namespace
} // namespace morgana::pvh::xen
