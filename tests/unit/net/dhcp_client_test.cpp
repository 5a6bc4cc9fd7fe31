#include "morgana/net/dhcp_client.h"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frames.h"
#include "morgana/core/checksum.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "sim.h"

namespace morgana::net {
namespace {

using namespace std::chrono_literals;

constexpr std::uint8_t client_mac_octets[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr MacAddress client_mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr MacAddress server_mac{{0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01}};
constexpr MacAddress other_server_mac{{0x52, 0x54, 0x00, 0xaa, 0xbb, 0x02}};
constexpr Ipv4Address server = Ipv4Address::from_octets(192, 168, 77, 1);
constexpr Ipv4Address other_server = Ipv4Address::from_octets(192, 168, 77, 2);
constexpr Ipv4Address offered = Ipv4Address::from_octets(192, 168, 77, 107);
constexpr Ipv4Address dns = Ipv4Address::from_octets(192, 168, 77, 53);

// A unicast waits for the harness's ARP reply, which is injected only after the
// loop has slept to its next deadline: at most one tick of the stack's 1 s timers.
constexpr Duration arp_resolution = 1s;

// `at` lies in [expected, expected + arp_resolution].
::testing::AssertionResult sent_by_unicast_at(Instant at, Instant expected) {
  if (at >= expected && at <= expected + arp_resolution) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "sent " << (at - expected).count() << " ns after the expected time";
}

using test_support::counter_value;

// One DHCP message the client sent, with the framing it travelled in.
struct Sent {
  Instant at;
  MacAddress eth_destination;
  Ipv4Address source;
  Ipv4Address destination;
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  DhcpMessage message;
};

DhcpMessage reply_to(const DhcpMessage& request, DhcpMessageType type, Ipv4Address from = server) {
  DhcpMessage reply;
  reply.op = DhcpMessage::bootreply;
  reply.xid = request.xid;
  reply.flags = request.flags;
  reply.chaddr = request.chaddr;
  reply.message_type = type;
  reply.server_identifier = from;
  if (type == DhcpMessageType::nak) return reply;
  reply.yiaddr = offered;
  reply.siaddr = from;
  reply.subnet_mask = Ipv4Address::from_octets(255, 255, 255, 0);
  reply.routers.push_back(server);
  reply.domain_name_servers.push_back(dns);
  reply.domain_name_servers.push_back(server);
  reply.ip_address_lease_time = 3600;
  reply.renewal_time_value = 1800;
  reply.rebinding_time_value = 3150;
  return reply;
}

class DhcpClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    random::reset();
    m_device = sim::add_device(client_mac_octets);
    auto created = Stack::create({.device = m_device});
    ASSERT_TRUE(created.has_value());
    stack = std::move(*created);
    stack->start();
    client = std::make_unique<DhcpClient>(*stack);
  }

  void TearDown() override {
    loop().destroy_spawned();
    client.reset();
    stack.reset();
  }

  static Instant now() { return MonotonicClock::now(); }

  void start_acquire(Instant deadline) { loop().spawn(run_acquire(deadline)); }
  Task<void> run_acquire(Instant deadline) {
    acquired = co_await client->acquire(deadline);
    acquired_at = now();
  }
  void start_maintain() { loop().spawn(client->maintain()); }

  // Reads what the client sent: DHCP messages are queued for the test, ARP
  // requests for a server are answered as that server would.
  void collect() {
    for (auto& frame : sim::take_sent(m_device)) {
      ByteReader reader(frame);
      MacAddress destination;
      ASSERT_TRUE(destination.read(reader).has_value());
      ASSERT_TRUE(reader.skip(6).has_value());
      auto ether_type = reader.u16();
      ASSERT_TRUE(ether_type.has_value());
      if (*ether_type == 0x0806) {
        answer_arp(reader.rest());
        continue;
      }
      ASSERT_EQ(*ether_type, 0x0800);
      auto ip = reader.rest();
      ASSERT_GE(ip.size(), 28u);
      ASSERT_EQ(ip[0], std::byte{0x45});
      ASSERT_EQ(internet_checksum(ip.first(20)), 0) << "IPv4 header checksum";
      if (ip[9] != std::byte{17}) continue;
      auto total = load_be16(&ip[2]);
      ASSERT_LE(total, ip.size());
      auto udp = ip.subspan(20, total - 20u);
      Sent sent;
      sent.at = m_turn_started;
      sent.eth_destination = destination;
      sent.source = Ipv4Address{load_be32(&ip[12])};
      sent.destination = Ipv4Address{load_be32(&ip[16])};
      sent.source_port = load_be16(&udp[0]);
      sent.destination_port = load_be16(&udp[2]);
      ASSERT_EQ(load_be16(&udp[4]), udp.size());
      auto message = DhcpMessage::parse(udp.subspan(8));
      ASSERT_TRUE(message.has_value()) << message.error().context;
      sent.message = *message;
      m_sent.push_back(std::move(sent));
    }
  }

  void answer_arp(Bytes arp) {
    ASSERT_GE(arp.size(), 28u); // padded to the 60-octet minimum frame
    if (load_be16(&arp[6]) != 1) return;
    Ipv4Address sender{load_be32(&arp[14])};
    Ipv4Address target{load_be32(&arp[24])};
    if (target == server) sim::inject(m_device, frames::arp_reply(server_mac, server, client_mac, sender));
    if (target == other_server)
      sim::inject(m_device, frames::arp_reply(other_server_mac, other_server, client_mac, sender));
  }

  // One turn of the loop. Coroutines run at the time the turn starts, so what
  // they send is stamped with it; the turn ends by sleeping to the next deadline.
  void turn() {
    // A client that spins without letting time pass fails the test instead of hanging it.
    if (++m_turns > max_turns) {
      ADD_FAILURE() << "no progress after " << max_turns << " turns of the loop";
      sim::advance(std::chrono::nanoseconds(24h).count());
      return;
    }
    m_turn_started = now();
    loop().turn();
    collect();
  }

  // Runs the loop until the client sends a DHCP message, or `limit` of virtual time passes.
  std::optional<Sent> next_sent(Duration limit = 100s) {
    auto until = now() + limit;
    while (m_sent.empty() && now() <= until) turn();
    if (m_sent.empty()) return std::nullopt;
    auto sent = std::move(m_sent.front());
    m_sent.pop_front();
    return sent;
  }

  // Runs the loop until `done` holds, or `limit` of virtual time passes.
  bool run_until(const std::function<bool()>& done, Duration limit = 100s) {
    auto until = now() + limit;
    while (!done() && now() <= until) turn();
    return done();
  }

  // Runs the loop for `duration` of virtual time (replies already injected get handled).
  void run_for(Duration duration) {
    run_until([] { return false; }, duration);
  }

  void inject(const DhcpMessage& message, Ipv4Address from = server, Ipv4Address to = Ipv4Address::broadcast(),
              MacAddress eth_source = server_mac) {
    std::vector<std::byte> payload(DhcpMessage::maximum_size);
    ByteWriter writer(payload);
    message.write(writer);
    auto bytes = writer.finish();
    ASSERT_TRUE(bytes.has_value());
    auto eth_destination = to.is_broadcast() ? MacAddress::broadcast() : client_mac;
    sim::inject(m_device, frames::udp_frame({eth_destination, eth_source}, {from, 67}, {to, 68}, *bytes));
  }

  // Takes the client through DISCOVER/OFFER/REQUEST/ACK with `ack` edits; returns the REQUEST.
  Sent bind(const std::function<void(DhcpMessage&)>& edit_ack = {}) {
    auto discover = next_sent();
    EXPECT_TRUE(discover.has_value());
    if (!discover) return {};
    inject(reply_to(discover->message, DhcpMessageType::offer));
    auto request = next_sent();
    EXPECT_TRUE(request.has_value());
    if (!request) return {};
    auto ack = reply_to(request->message, DhcpMessageType::ack);
    if (edit_ack) edit_ack(ack);
    inject(ack);
    EXPECT_TRUE(run_until([&] { return client->lease().has_value(); }));
    return *request;
  }

  std::size_t m_device = 0;
  std::unique_ptr<Stack> stack;
  std::unique_ptr<DhcpClient> client;
  std::optional<Result<void>> acquired;
  Instant acquired_at;
  Instant m_turn_started;
  static constexpr int max_turns = 200'000;
  int m_turns = 0;
  std::deque<Sent> m_sent;
};

TEST_F(DhcpClientTest, AcquireBindsLeaseAndInstallsConfig) {
  auto started = now();
  start_acquire(started + 60s);

  auto discover = next_sent();
  ASSERT_TRUE(discover.has_value());
  EXPECT_EQ(discover->at, started);
  EXPECT_EQ(discover->eth_destination, MacAddress::broadcast());
  EXPECT_EQ(discover->source, Ipv4Address::any());
  EXPECT_EQ(discover->destination, Ipv4Address::broadcast());
  EXPECT_EQ(discover->source_port, 68);
  EXPECT_EQ(discover->destination_port, 67);
  EXPECT_EQ(discover->message.op, DhcpMessage::bootrequest);
  EXPECT_EQ(discover->message.message_type, DhcpMessageType::discover);
  EXPECT_EQ(discover->message.flags, DhcpMessage::broadcast_flag);
  EXPECT_EQ(discover->message.client_mac(), client_mac);

  inject(reply_to(discover->message, DhcpMessageType::offer));
  auto request = next_sent();
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->eth_destination, MacAddress::broadcast());
  EXPECT_EQ(request->source, Ipv4Address::any());
  EXPECT_EQ(request->destination, Ipv4Address::broadcast());
  EXPECT_EQ(request->message.message_type, DhcpMessageType::request);
  EXPECT_EQ(request->message.xid, discover->message.xid);
  EXPECT_EQ(request->message.flags, DhcpMessage::broadcast_flag);
  EXPECT_TRUE(request->message.ciaddr.is_any());
  EXPECT_EQ(request->message.requested_ip_address, offered);
  EXPECT_EQ(request->message.server_identifier, server);

  EXPECT_FALSE(acquired.has_value());
  inject(reply_to(request->message, DhcpMessageType::ack));
  ASSERT_TRUE(run_until([&] { return acquired.has_value(); }));
  ASSERT_TRUE(acquired->has_value()) << acquired->error().name();

  const auto& config = stack->config();
  EXPECT_EQ(config.address, (Ipv4Cidr{offered, 24}));
  EXPECT_EQ(config.gateway, server);
  EXPECT_EQ(config.dns_servers, (std::vector<Ipv4Address>{dns, server}));
  ASSERT_TRUE(client->lease().has_value());
  EXPECT_EQ(client->lease()->server, server);
  EXPECT_EQ(client->lease()->renew_at, request->at + 1800s);
  EXPECT_EQ(client->lease()->rebind_at, request->at + 3150s);
  EXPECT_EQ(client->lease()->expires_at, request->at + 3600s);
  auto console = sim::console_output();
  EXPECT_NE(console.find("lease bound: address 192.168.77.107/24 gateway 192.168.77.1 lease 3600 s"), std::string::npos)
      << console;
}

TEST_F(DhcpClientTest, RetransmitsDiscoverWithBackoffUntilTheDeadline) {
  auto started = now();
  auto deadline = started + 130s;
  start_acquire(deadline);

  std::vector<Sent> discovers;
  while (auto sent = next_sent(200s)) discovers.push_back(*sent);
  // Sent at 0, then after 4, 8, 16, 32 and 64 s, each +-1 s; then the deadline.
  ASSERT_EQ(discovers.size(), 6u);
  const Duration bases[] = {4s, 8s, 16s, 32s, 64s};
  bool jittered = false;
  for (std::size_t i = 1; i < discovers.size(); ++i) {
    auto gap = discovers[i].at - discovers[i - 1].at;
    EXPECT_GE(gap, bases[i - 1] - 1s) << i;
    EXPECT_LE(gap, bases[i - 1] + 1s) << i;
    jittered |= gap != bases[i - 1];
    EXPECT_EQ(discovers[i].message.xid, discovers[0].message.xid);
    EXPECT_EQ(discovers[i].message.message_type, DhcpMessageType::discover);
    EXPECT_EQ(discovers[i].message.secs,
              std::chrono::duration_cast<std::chrono::seconds>(discovers[i].at - started).count());
  }
  EXPECT_TRUE(jittered);
  ASSERT_TRUE(run_until([&] { return acquired.has_value(); }));
  ASSERT_FALSE(acquired->has_value());
  EXPECT_EQ(acquired->error(), Errc::timed_out);
  EXPECT_EQ(acquired_at, deadline);
  EXPECT_TRUE(stack->config().address.address.is_any());
}

TEST_F(DhcpClientTest, DropsAndCountsRepliesThatAreNotForUs) {
  start_acquire(now() + 60s);
  auto discover = next_sent();
  ASSERT_TRUE(discover.has_value());
  auto offer = reply_to(discover->message, DhcpMessageType::offer);

  test_support::CounterWatches drops{"dhcp.wrong_xid",       "dhcp.wrong_chaddr", "dhcp.not_reply",  "dhcp.malformed",
                                     "dhcp.unexpected_type", "dhcp.incomplete",   "dhcp.bad_address"};

  auto wrong_xid = offer;
  wrong_xid.xid ^= 1;
  inject(wrong_xid);
  auto wrong_chaddr = offer;
  wrong_chaddr.chaddr[5] ^= 1;
  inject(wrong_chaddr);
  auto not_reply = offer;
  not_reply.op = DhcpMessage::bootrequest;
  inject(not_reply);
  auto ack_too_early = offer;
  ack_too_early.message_type = DhcpMessageType::ack;
  inject(ack_too_early);
  auto no_server_id = offer;
  no_server_id.server_identifier.reset();
  inject(no_server_id);
  auto broadcast_address = offer;
  broadcast_address.yiaddr = Ipv4Address::broadcast();
  inject(broadcast_address);
  std::byte truncated[100] = {};
  sim::inject(m_device, frames::udp_frame({MacAddress::broadcast(), server_mac}, {server, 67},
                                          {Ipv4Address::broadcast(), 68}, truncated));

  // None of them is taken: the next thing sent is the retransmitted DISCOVER.
  auto next = next_sent();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->message.message_type, DhcpMessageType::discover);
  EXPECT_GE(next->at - discover->at, 3s);
  EXPECT_EQ(drops.deltas(), drops.each(1));

  // Once an offer is chosen, replies from other servers are dropped too.
  inject(offer);
  auto request = next_sent();
  ASSERT_TRUE(request.has_value());
  ASSERT_EQ(request->message.message_type, DhcpMessageType::request);
  auto before_server = counter_value("dhcp.wrong_server");
  inject(reply_to(request->message, DhcpMessageType::ack, other_server), other_server, Ipv4Address::broadcast(),
         other_server_mac);
  run_for(1s);
  EXPECT_FALSE(acquired.has_value());
  EXPECT_EQ(counter_value("dhcp.wrong_server"), before_server + 1);
  EXPECT_TRUE(stack->config().address.address.is_any());

  inject(reply_to(request->message, DhcpMessageType::ack));
  ASSERT_TRUE(run_until([&] { return acquired.has_value(); }));
  EXPECT_TRUE(acquired->has_value());
  EXPECT_EQ(stack->config().address.address, offered);
}

TEST_F(DhcpClientTest, NakRestartsFromDiscover) {
  start_acquire(now() + 120s);
  auto discover = next_sent();
  ASSERT_TRUE(discover.has_value());
  inject(reply_to(discover->message, DhcpMessageType::offer));
  auto request = next_sent();
  ASSERT_TRUE(request.has_value());
  auto before = counter_value("dhcp.naks");
  inject(reply_to(request->message, DhcpMessageType::nak));

  auto again = next_sent();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->message.message_type, DhcpMessageType::discover);
  EXPECT_LT(again->at - request->at, 2s); // at once, not after a retransmission timeout
  EXPECT_NE(again->message.xid, discover->message.xid);
  EXPECT_EQ(counter_value("dhcp.naks"), before + 1);
  EXPECT_FALSE(acquired.has_value());
  EXPECT_TRUE(stack->config().address.address.is_any());

  inject(reply_to(again->message, DhcpMessageType::offer));
  request = next_sent();
  ASSERT_TRUE(request.has_value());
  inject(reply_to(request->message, DhcpMessageType::ack));
  ASSERT_TRUE(run_until([&] { return acquired.has_value(); }));
  EXPECT_TRUE(acquired->has_value());
}

TEST_F(DhcpClientTest, RequestUnansweredGoesBackToDiscover) {
  start_acquire(now() + 600s);
  auto discover = next_sent();
  ASSERT_TRUE(discover.has_value());
  inject(reply_to(discover->message, DhcpMessageType::offer));
  int requests = 0;
  std::optional<Sent> sent;
  while ((sent = next_sent()) && sent->message.message_type == DhcpMessageType::request) ++requests;
  EXPECT_EQ(requests, DhcpClient::selecting_requests);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->message.message_type, DhcpMessageType::discover);
}

TEST_F(DhcpClientTest, RenewsAtT1WithUnicastToTheServer) {
  start_maintain();
  auto first_request = bind();
  auto lease = *client->lease();
  auto bound_before = counter_value("dhcp.leases_bound");

  auto renew = next_sent(2000s);
  ASSERT_TRUE(renew.has_value());
  EXPECT_EQ(lease.renew_at, first_request.at + 1800s);
  EXPECT_TRUE(sent_by_unicast_at(renew->at, lease.renew_at));
  EXPECT_EQ(renew->eth_destination, server_mac);
  EXPECT_EQ(renew->source, offered);
  EXPECT_EQ(renew->destination, server);
  EXPECT_EQ(renew->destination_port, 67);
  EXPECT_EQ(renew->message.message_type, DhcpMessageType::request);
  EXPECT_EQ(renew->message.ciaddr, offered);
  EXPECT_EQ(renew->message.flags, 0);
  EXPECT_FALSE(renew->message.server_identifier.has_value());
  EXPECT_FALSE(renew->message.requested_ip_address.has_value());

  // The server answers by unicast to the address in ciaddr (RFC 2131 §4.1).
  inject(reply_to(renew->message, DhcpMessageType::ack), server, offered);
  ASSERT_TRUE(run_until([&] { return counter_value("dhcp.leases_bound") == bound_before + 1; }));
  // The new lease runs from when the REQUEST was sent (RFC 2131 §4.4.5).
  EXPECT_EQ(client->lease()->renew_at, lease.renew_at + 1800s);
  EXPECT_EQ(client->lease()->expires_at, lease.renew_at + 3600s);
  EXPECT_EQ(stack->config().address, (Ipv4Cidr{offered, 24}));

  // And renews again at the new T1.
  auto again = next_sent(2000s);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(sent_by_unicast_at(again->at, lease.renew_at + 1800s));
  EXPECT_EQ(again->destination, server);
}

TEST_F(DhcpClientTest, RebindsAtT2WithBroadcast) {
  start_maintain();
  bind();
  auto lease = *client->lease();

  std::vector<Sent> renewing;
  std::optional<Sent> sent;
  while ((sent = next_sent(4000s)) && sent->destination == server) renewing.push_back(*sent);
  // RFC 2131 §4.4.5: retransmitted after half the time left until T2, but at least 60 s apart.
  ASSERT_GE(renewing.size(), 3u);
  EXPECT_TRUE(sent_by_unicast_at(renewing[0].at, lease.renew_at));
  EXPECT_TRUE(sent_by_unicast_at(renewing[1].at, lease.renew_at + (lease.rebind_at - lease.renew_at) / 2));
  for (std::size_t i = 1; i < renewing.size(); ++i)
    EXPECT_GE(renewing[i].at - renewing[i - 1].at, 60s - arp_resolution);

  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->at, lease.rebind_at);
  EXPECT_EQ(sent->eth_destination, MacAddress::broadcast());
  EXPECT_EQ(sent->source, offered);
  EXPECT_EQ(sent->destination, Ipv4Address::broadcast());
  EXPECT_EQ(sent->message.message_type, DhcpMessageType::request);
  EXPECT_EQ(sent->message.ciaddr, offered);
  EXPECT_FALSE(sent->message.server_identifier.has_value());

  // Any server may extend the lease while rebinding.
  inject(reply_to(sent->message, DhcpMessageType::ack, other_server), other_server, offered, other_server_mac);
  ASSERT_TRUE(run_until([&] { return client->lease() && client->lease()->server == other_server; }));
  EXPECT_EQ(client->lease()->expires_at, sent->at + 3600s);
  EXPECT_EQ(stack->config().address.address, offered);
}

TEST_F(DhcpClientTest, LeaseExpiryRemovesTheAddressAndStartsOver) {
  start_maintain();
  // No T1/T2 options: they default to 1/2 and 7/8 of the lease (RFC 2131 §4.4.5).
  auto request = bind([](DhcpMessage& ack) {
    ack.ip_address_lease_time = 600;
    ack.renewal_time_value.reset();
    ack.rebinding_time_value.reset();
  });
  auto lease = *client->lease();
  EXPECT_EQ(lease.renew_at, request.at + 300s);
  EXPECT_EQ(lease.rebind_at, request.at + 525s);
  EXPECT_EQ(lease.expires_at, request.at + 600s);
  auto expired_before = counter_value("dhcp.leases_expired");

  std::optional<Sent> sent;
  while ((sent = next_sent(1000s)) && sent->message.message_type == DhcpMessageType::request) {
    EXPECT_LT(sent->at, lease.expires_at);
    EXPECT_EQ(stack->config().address.address, offered);
  }
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->message.message_type, DhcpMessageType::discover);
  EXPECT_EQ(sent->at, lease.expires_at);
  EXPECT_EQ(sent->source, Ipv4Address::any());
  EXPECT_TRUE(stack->config().address.address.is_any());
  EXPECT_FALSE(stack->config().gateway.has_value());
  EXPECT_FALSE(client->lease().has_value());
  EXPECT_EQ(counter_value("dhcp.leases_expired"), expired_before + 1);
}

TEST_F(DhcpClientTest, NakWhileRenewingRemovesTheAddress) {
  start_maintain();
  bind();
  auto renew = next_sent(2000s);
  ASSERT_TRUE(renew.has_value());
  inject(reply_to(renew->message, DhcpMessageType::nak), server, offered);
  auto discover = next_sent();
  ASSERT_TRUE(discover.has_value());
  EXPECT_EQ(discover->message.message_type, DhcpMessageType::discover);
  EXPECT_LT(discover->at - renew->at, 2s);
  EXPECT_TRUE(stack->config().address.address.is_any());
}

TEST_F(DhcpClientTest, InfiniteLeaseIsNeverRenewed) {
  start_maintain();
  bind([](DhcpMessage& ack) { ack.ip_address_lease_time = DhcpMessage::infinite_lease; });
  EXPECT_EQ(client->lease()->renew_at, far_future);
  EXPECT_EQ(client->lease()->expires_at, far_future);
  EXPECT_FALSE(next_sent(7200s).has_value());
  EXPECT_EQ(stack->config().address.address, offered);
}

TEST_F(DhcpClientTest, MissingSubnetMaskFallsBackToTheAddressClass) {
  start_acquire(now() + 60s);
  auto class_a = Ipv4Address::from_octets(10, 0, 0, 107);
  bind([&](DhcpMessage& ack) {
    ack.yiaddr = class_a;
    ack.subnet_mask.reset();
  });
  EXPECT_EQ(stack->config().address, (Ipv4Cidr{class_a, 8}));
}

TEST_F(DhcpClientTest, ReleaseSendsReleaseAndRemovesTheAddress) {
  start_acquire(now() + 60s);
  bind();
  ASSERT_TRUE(client->release().has_value());
  auto release = next_sent();
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(release->message.message_type, DhcpMessageType::release);
  EXPECT_EQ(release->destination, server);
  EXPECT_EQ(release->message.ciaddr, offered);
  EXPECT_EQ(release->message.server_identifier, server);
  EXPECT_TRUE(stack->config().address.address.is_any());
  EXPECT_FALSE(client->lease().has_value());
  EXPECT_FALSE(client->release().has_value());
}

TEST_F(DhcpClientTest, PortInUseFailsAcquire) {
  auto taken = stack->udp().bind(68);
  ASSERT_TRUE(taken.has_value());
  auto result = loop().run(client->acquire(now() + 10s));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), Errc::in_use);
}

} // namespace
} // namespace morgana::net
