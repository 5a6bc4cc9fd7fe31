// Stacks are created from values, not boot arguments: two stacks with other
// settings live side by side in one process.

#include <gtest/gtest.h>

#include <chrono>

#include "morgana/core/event_loop.h"
#include "morgana/net/stack.h"
#include "sim.h"

namespace morgana::net {
namespace {

constexpr std::uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
constexpr std::uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};

class StackConfigTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }

  std::unique_ptr<Stack> open(StackConfig config) {
    auto stack = loop().run(Stack::open(std::move(config)));
    EXPECT_TRUE(stack) << (stack ? "" : stack.error().message());
    return stack ? std::move(*stack) : nullptr;
  }
};

TEST_F(StackConfigTest, TwoStacksWithOtherSettingsSideBySide) {
  StackConfig first;
  first.device = sim::add_device(mac_a);
  first.ipv4 = Ipv4Cidr{Ipv4Address::from_octets(10, 0, 0, 2), 24};
  first.gateway = Ipv4Address::from_octets(10, 0, 0, 1);
  first.tcp.msl = std::chrono::seconds(1);
  StackConfig second;
  second.device = sim::add_device(mac_b, 9000);
  second.ipv4 = Ipv4Cidr{Ipv4Address::from_octets(192, 168, 7, 9), 16};
  second.dns_servers = {Ipv4Address::from_octets(192, 168, 0, 53)};
  auto a = open(first);
  auto b = open(second);
  ASSERT_TRUE(a && b);

  EXPECT_EQ(a->address(), Ipv4Address::from_octets(10, 0, 0, 2));
  EXPECT_EQ(a->config().gateway, Ipv4Address::from_octets(10, 0, 0, 1));
  EXPECT_EQ(b->address(), Ipv4Address::from_octets(192, 168, 7, 9));
  EXPECT_EQ(b->config().address.prefix_length, 16);
  EXPECT_EQ(a->mac(), MacAddress::from(mac_a));
  EXPECT_EQ(b->mtu(), 9000);
  EXPECT_EQ(a->tcp().time_wait(), std::chrono::seconds(2));
  EXPECT_EQ(b->tcp().time_wait(), std::chrono::seconds(60));
  EXPECT_TRUE(a->dns_servers().empty());
  ASSERT_EQ(b->dns_servers().size(), 1u);
  EXPECT_EQ(b->dns_servers()[0], Ipv4Address::from_octets(192, 168, 0, 53));
}

TEST_F(StackConfigTest, ConfiguredDnsServersWinOverThoseFromDhcp) {
  StackConfig config;
  config.device = sim::add_device(mac_a);
  config.ipv4 = Ipv4Cidr{Ipv4Address::from_octets(10, 0, 0, 2), 24};
  config.dns_servers = {Ipv4Address::from_octets(10, 0, 0, 53)};
  auto stack = open(config);
  ASSERT_TRUE(stack);
  Ipv4Config leased;
  leased.address = {Ipv4Address::from_octets(10, 0, 0, 2), 24};
  leased.dns_servers = {Ipv4Address::from_octets(10, 0, 0, 1)};
  stack->set_config(leased);
  ASSERT_EQ(stack->dns_servers().size(), 1u);
  EXPECT_EQ(stack->dns_servers()[0], Ipv4Address::from_octets(10, 0, 0, 53));
}

TEST_F(StackConfigTest, NoSuchDeviceIsAnError) {
  StackConfig config;
  config.device = 3;
  auto stack = Stack::create(config);
  ASSERT_FALSE(stack);
  EXPECT_EQ(stack.error(), Errc::not_found);
}

} // namespace
} // namespace morgana::net
