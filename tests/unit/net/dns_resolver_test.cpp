#include "morgana/net/dns_resolver.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "frames.h"
#include "morgana/core/args.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/net/stack.h"
#include "sim.h"

namespace morgana::net {
namespace {

constexpr std::uint8_t our_mac_octets[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
const MacAddress our_mac = MacAddress::from(our_mac_octets);
const MacAddress server_mac{{0x52, 0x54, 0x00, 0xaa, 0xbb, 0x01}};
constexpr Ipv4Address our_address = Ipv4Address::from_octets(10, 0, 0, 2);
constexpr Ipv4Address server_one = Ipv4Address::from_octets(10, 0, 0, 1);
constexpr Ipv4Address server_two = Ipv4Address::from_octets(10, 0, 0, 3);
constexpr Ipv4Address stranger = Ipv4Address::from_octets(10, 0, 0, 9);

using test_support::counter_value;

// A DNS query the stack sent: where it went, from which port, and what it asked.
struct SentQuery {
  Endpoint source;
  Endpoint destination;
  DnsMessage message;
};

// A reply to `query` with the given RCODE and A records for its question (TTL 300).
std::vector<std::byte> reply_to(const SentQuery& query, std::vector<Ipv4Address> addresses,
                                std::uint8_t rcode = dns::rcode_no_error) {
  std::vector<std::byte> bytes(dns::max_udp_message);
  ByteWriter writer(bytes);
  DnsHeader header;
  header.id = query.message.header().id;
  header.qr = header.rd = header.ra = true;
  header.rcode = rcode;
  header.qdcount = 1;
  header.ancount = static_cast<std::uint16_t>(addresses.size());
  header.write(writer);
  query.message.questions().at(0).write(writer);
  for (auto address : addresses) {
    writer.u16(0xc00c); // the question's name (RFC 1035 §4.1.4)
    writer.u16(dns::type_a);
    writer.u16(dns::class_in);
    writer.u32(300);
    writer.u16(4);
    writer.u32(address.value);
  }
  bytes.resize(MUST(writer.finish()).size());
  return bytes;
}

// Frames a DNS reply from `server` port 53 (unless told otherwise) to the query's port.
sim::Frame reply_frame(const SentQuery& query, Bytes dns, Endpoint from = {}) {
  if (from.address.is_any()) from = query.destination;
  return frames::udp_frame({our_mac, server_mac}, from, query.source, dns);
}

class DnsResolverTest : public ::testing::Test {
protected:
  // Returns the frames to inject in answer to one query.
  using Server = std::function<std::vector<sim::Frame>(const SentQuery&)>;

  void SetUp() override {
    sim::reset();
    m_device = sim::add_device(our_mac_octets);
    start_stack({});
  }

  // A stack with `configured` DNS servers, whose DHCP-style address
  // configuration names server_one and server_two.
  void start_stack(std::vector<Ipv4Address> configured) {
    m_stack.reset();
    StackConfig stack_config;
    stack_config.device = m_device;
    stack_config.dns_servers = std::move(configured);
    m_stack = MUST(Stack::create(stack_config));
    m_stack->start();
    Ipv4Config config;
    config.address = {our_address, 24};
    config.dns_servers = {server_one, server_two};
    m_stack->set_config(config);
  }

  void TearDown() override {
    m_server = {};
    m_stack.reset();
    loop().destroy_spawned();
  }

  // Answers ARP for the servers and hands each DNS query to `server`.
  void serve(Server server) {
    m_server = run_server(std::move(server));
    m_server.start();
  }

  Result<std::vector<Ipv4Address>> resolve(std::string_view name, Duration timeout = std::chrono::seconds(60)) {
    DnsResolver resolver(*m_stack);
    return resolve_with(resolver, name, timeout);
  }

  Result<std::vector<Ipv4Address>> resolve_with(DnsResolver& resolver, std::string_view name,
                                                Duration timeout = std::chrono::seconds(60)) {
    return loop().run(resolver.resolve(name, MonotonicClock::now() + timeout));
  }

  std::vector<SentQuery> m_queries;
  std::unique_ptr<Stack> m_stack;

private:
  Task<void> run_server(Server server) {
    while (true) {
      (void)co_await sleep_for(std::chrono::milliseconds(1));
      for (auto& frame : sim::take_sent(m_device)) {
        ByteReader reader(frame);
        MUST(reader.skip(12));
        auto ether_type = MUST(reader.u16());
        if (ether_type == 0x0806) {
          MUST(reader.skip(24));
          Ipv4Address target;
          MUST(target.read(reader));
          if (target == server_one || target == server_two || target == stranger)
            sim::inject(m_device, frames::arp_reply(server_mac, target, our_mac, our_address));
          continue;
        }
        if (ether_type != 0x0800) {
          ADD_FAILURE() << "sent EtherType " << ether_type;
          continue;
        }
        auto ihl = (MUST(reader.u8()) & 0xf) * 4;
        MUST(reader.skip(8));
        auto protocol = MUST(reader.u8());
        MUST(reader.skip(2));
        SentQuery query{{}, {}, {}};
        MUST(query.source.address.read(reader));
        MUST(query.destination.address.read(reader));
        if (protocol != 17) continue;
        MUST(reader.skip(static_cast<std::size_t>(ihl - 20)));
        query.source.port = MUST(reader.u16());
        query.destination.port = MUST(reader.u16());
        auto length = MUST(reader.u16());
        MUST(reader.skip(2));
        auto message = DnsMessage::parse(MUST(reader.bytes(length - 8u)));
        if (!message) {
          ADD_FAILURE() << "sent a DNS query that does not parse: " << message.error().context;
          continue;
        }
        query.message = std::move(*message);
        m_queries.push_back(query);
        for (auto& reply : server(query)) sim::inject(m_device, reply);
      }
    }
  }

  std::size_t m_device = 0;
  Task<void> m_server;
};

TEST_F(DnsResolverTest, ReturnsTheAnswerOfTheFirstServer) {
  auto queries_before = counter_value("dns.queries");
  serve([](const SentQuery& query) {
    return std::vector<sim::Frame>{reply_frame(
        query, reply_to(query, {Ipv4Address::from_octets(192, 0, 2, 10), Ipv4Address::from_octets(192, 0, 2, 11)}))};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  EXPECT_EQ(*addresses,
            (std::vector{Ipv4Address::from_octets(192, 0, 2, 10), Ipv4Address::from_octets(192, 0, 2, 11)}));

  ASSERT_EQ(m_queries.size(), 1u);
  const auto& query = m_queries[0];
  EXPECT_EQ(query.source.address, our_address);
  EXPECT_GE(query.source.port, 49152);
  EXPECT_EQ(query.destination, (Endpoint{server_one, 53}));
  EXPECT_FALSE(query.message.header().qr);
  EXPECT_TRUE(query.message.header().rd);
  ASSERT_EQ(query.message.questions().size(), 1u);
  EXPECT_EQ(query.message.questions()[0],
            (DnsQuestion{MUST(DnsName::from_text("host.example.test")), dns::type_a, dns::class_in}));
  EXPECT_EQ(counter_value("dns.queries"), queries_before + 1);
}

TEST_F(DnsResolverTest, FollowsTheCnameChainOfACapturedReply) {
  // dnsmasq's reply for www.example.test (see dns_message_test.cpp), its ID
  // replaced by the query's.
  serve([](const SentQuery& query) {
    std::vector<std::byte> reply;
    for (std::string_view hex = "12348580000100040000000003777777076578616d706c6504746573740000010001c00c0005000100"
                                "00012c00120363646e076578616d706c65047465737400c02e000500010000012c0012037765620765"
                                "78616d706c65047465737400c04c000100010000012c0004c000020ac04c000100010000012c0004c0"
                                "00020b";
         hex.size() >= 2; hex.remove_prefix(2)) {
      auto digit = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
      reply.push_back(std::byte(digit(hex[0]) * 16 + digit(hex[1])));
    }
    store_be16(reply.data(), query.message.header().id);
    return std::vector<sim::Frame>{reply_frame(query, reply)};
  });
  auto addresses = resolve("WWW.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  EXPECT_EQ(*addresses,
            (std::vector{Ipv4Address::from_octets(192, 0, 2, 10), Ipv4Address::from_octets(192, 0, 2, 11)}));
}

TEST_F(DnsResolverTest, IgnoresAndCountsRepliesThatAreNotOurs) {
  test_support::CounterWatches drops{"dns.wrong_id",       "dns.wrong_source", "dns.wrong_port",
                                     "dns.wrong_question", "dns.malformed",    "dns.not_response"};
  serve([](const SentQuery& query) {
    auto bad = Ipv4Address::from_octets(6, 6, 6, 6);
    auto good = Ipv4Address::from_octets(192, 0, 2, 1);

    auto other_id = reply_to(query, {bad});
    store_be16(other_id.data(), static_cast<std::uint16_t>(query.message.header().id ^ 0x0100));

    SentQuery other_name = query;
    std::array<std::byte, dns::max_udp_message> buffer;
    auto evil = MUST(DnsName::from_text("evil.example.test"));
    auto evil_query = MUST(DnsMessage::write_query(buffer, query.message.header().id, evil));
    other_name.message = MUST(DnsMessage::parse(evil_query));

    auto not_a_response = reply_to(query, {bad});
    not_a_response[2] &= std::byte{0x7f}; // QR clear

    auto cut = reply_to(query, {bad});
    cut.resize(cut.size() - 3);

    return std::vector<sim::Frame>{
        reply_frame(query, other_id),
        reply_frame(query, reply_to(query, {bad}), {stranger, 53}),
        reply_frame(query, reply_to(query, {bad}), {query.destination.address, 5353}),
        reply_frame(query, reply_to(other_name, {bad})),
        reply_frame(query, not_a_response),
        reply_frame(query, cut),
        reply_frame(query, reply_to(query, {good})),
    };
  });
  auto addresses = resolve("host.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  EXPECT_EQ(*addresses, std::vector{Ipv4Address::from_octets(192, 0, 2, 1)});
  EXPECT_EQ(m_queries.size(), 1u);
  EXPECT_EQ(drops.deltas(), drops.each(1));
}

TEST_F(DnsResolverTest, RepliesNotOursDoNotStopTheTimeout) {
  // Only a reply with the wrong ID ever comes: the query still times out.
  serve([](const SentQuery& query) {
    auto reply = reply_to(query, {Ipv4Address::from_octets(6, 6, 6, 6)});
    store_be16(reply.data(), static_cast<std::uint16_t>(query.message.header().id + 1));
    return std::vector<sim::Frame>{reply_frame(query, reply)};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::timed_out);
}

TEST_F(DnsResolverTest, AsksTheNextServerAfterATimeout) {
  auto timeouts = counter_value("dns.timeouts");
  auto start = MonotonicClock::now();
  serve([](const SentQuery& query) {
    if (query.destination.address == server_one) return std::vector<sim::Frame>{};
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {Ipv4Address::from_octets(192, 0, 2, 7)}))};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  EXPECT_EQ(*addresses, std::vector{Ipv4Address::from_octets(192, 0, 2, 7)});
  ASSERT_EQ(m_queries.size(), 2u);
  EXPECT_EQ(m_queries[0].destination, (Endpoint{server_one, 53}));
  EXPECT_EQ(m_queries[1].destination, (Endpoint{server_two, 53}));
  // A fresh port and ID for the second query.
  EXPECT_NE(m_queries[0].source.port, m_queries[1].source.port);
  EXPECT_GE(MonotonicClock::now() - start, DnsResolver::per_try_timeout);
  EXPECT_EQ(counter_value("dns.timeouts"), timeouts + 1);
}

TEST_F(DnsResolverTest, TimesOutAfterEveryRoundOfEveryServer) {
  serve([](const SentQuery&) { return std::vector<sim::Frame>{}; });
  auto start = MonotonicClock::now();
  auto addresses = resolve("host.example.test");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::timed_out);
  EXPECT_EQ(m_queries.size(), std::size_t{DnsResolver::rounds} * 2);
  EXPECT_GE(MonotonicClock::now() - start, DnsResolver::rounds * 2 * DnsResolver::per_try_timeout);
}

TEST_F(DnsResolverTest, StopsAtTheDeadline) {
  serve([](const SentQuery&) { return std::vector<sim::Frame>{}; });
  auto start = MonotonicClock::now();
  auto addresses = resolve("host.example.test", std::chrono::milliseconds(3000));
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::timed_out);
  EXPECT_EQ(m_queries.size(), 2u);
  EXPECT_LE(MonotonicClock::now() - start, std::chrono::milliseconds(3010));
}

TEST_F(DnsResolverTest, NxdomainIsNotFoundWithoutAskingAgain) {
  serve([](const SentQuery& query) {
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {}, dns::rcode_name_error))};
  });
  auto addresses = resolve("nothere.example.test");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::not_found);
  EXPECT_EQ(m_queries.size(), 1u);
}

TEST_F(DnsResolverTest, ServerFailureMovesOnToTheNextServer) {
  auto server_errors = counter_value("dns.server_errors");
  serve([](const SentQuery& query) {
    if (query.destination.address == server_one)
      return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {}, dns::rcode_server_failure))};
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {Ipv4Address::from_octets(192, 0, 2, 8)}))};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  EXPECT_EQ(*addresses, std::vector{Ipv4Address::from_octets(192, 0, 2, 8)});
  EXPECT_EQ(counter_value("dns.server_errors"), server_errors + 1);
}

TEST_F(DnsResolverTest, EveryServerFailingReportsTheFailure) {
  serve([](const SentQuery& query) {
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {}, dns::rcode_server_failure))};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::io_error);
  EXPECT_NE(addresses.error().context.find("SERVFAIL"), std::string_view::npos);
  EXPECT_EQ(m_queries.size(), std::size_t{DnsResolver::rounds} * 2);
}

TEST_F(DnsResolverTest, CachesAnswersForTheirTtl) {
  serve([](const SentQuery& query) {
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {Ipv4Address::from_octets(192, 0, 2, 9)}))};
  });
  DnsResolver resolver(*m_stack);
  ASSERT_TRUE(resolve_with(resolver, "host.example.test"));
  auto again = resolve_with(resolver, "HOST.example.test.");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, std::vector{Ipv4Address::from_octets(192, 0, 2, 9)});
  EXPECT_EQ(m_queries.size(), 1u);

  sim::advance(std::chrono::nanoseconds(std::chrono::seconds(301)).count());
  ASSERT_TRUE(resolve_with(resolver, "host.example.test"));
  EXPECT_EQ(m_queries.size(), 2u);
}

TEST_F(DnsResolverTest, AddressLiteralNeedsNoQuery) {
  auto addresses = resolve("192.0.2.55");
  ASSERT_TRUE(addresses);
  EXPECT_EQ(*addresses, std::vector{Ipv4Address::from_octets(192, 0, 2, 55)});
  EXPECT_TRUE(m_queries.empty());
}

TEST_F(DnsResolverTest, RejectsNamesThatAreNotHostNames) {
  auto addresses = resolve("bad name.example");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::invalid_argument);
}

TEST_F(DnsResolverTest, NoServersIsUnreachable) {
  Ipv4Config config;
  config.address = {our_address, 24};
  m_stack->set_config(config);
  auto addresses = resolve("host.example.test");
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::unreachable);
}

TEST_F(DnsResolverTest, ConfiguredServersOverrideDhcpServers) {
  start_stack({stranger});
  serve([](const SentQuery& query) {
    return std::vector<sim::Frame>{reply_frame(query, reply_to(query, {Ipv4Address::from_octets(192, 0, 2, 99)}))};
  });
  auto addresses = resolve("host.example.test");
  ASSERT_TRUE(addresses) << addresses.error().context;
  ASSERT_EQ(m_queries.size(), 1u);
  EXPECT_EQ(m_queries[0].destination, (Endpoint{stranger, 53}));
}

TEST(DnsServerList, ParsesCommaSeparatedAddresses) {
  DnsServerList list;
  ASSERT_TRUE(parse_value("10.0.0.1,192.0.2.53", list));
  EXPECT_EQ(std::vector(list.addresses().begin(), list.addresses().end()),
            (std::vector{Ipv4Address::from_octets(10, 0, 0, 1), Ipv4Address::from_octets(192, 0, 2, 53)}));
  StringBuilder<64> text;
  list.format(text);
  EXPECT_EQ(text.view(), "10.0.0.1,192.0.2.53");
  EXPECT_TRUE(parse_value("10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4", list));
  for (auto bad : {"", "10.0.0.1,", ",10.0.0.1", "10.0.0.1;10.0.0.2", "dns.example",
                   "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5"}) {
    auto result = parse_value(bad, list);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error(), Errc::invalid_argument) << bad;
  }
  // A failed parse leaves the list as it was.
  EXPECT_EQ(list.count, 4);
}

} // namespace
} // namespace morgana::net
