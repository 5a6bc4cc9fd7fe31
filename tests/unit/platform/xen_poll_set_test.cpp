#include "morgana/platform/pvh/xen_poll_set.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

namespace morgana::pvh::xen {
namespace {

std::vector<std::uint32_t> waited_on(const PollSet& set) {
  std::array<std::uint32_t, PollSet::capacity> ports{};
  auto count = set.ports_to_wait_on(ports);
  return {ports.begin(), ports.begin() + static_cast<std::ptrdiff_t>(count)};
}

TEST(XenPollSet, WaitsOnEveryAddedPortOnce) {
  PollSet set;
  set.add(1);
  set.add(3);
  set.add(1);
  EXPECT_EQ(waited_on(set), (std::vector<std::uint32_t>{1, 3}));
}

TEST(XenPollSet, RemovedPortsAreNotWaitedOn) {
  PollSet set;
  set.add(1);
  set.add(2);
  set.add(3);
  set.remove(1);
  set.remove(7); // never added
  auto ports = waited_on(set);
  EXPECT_EQ(std::set<std::uint32_t>(ports.begin(), ports.end()), (std::set<std::uint32_t>{2, 3}));
}

TEST(XenPollSet, APortPendingAfterAWaitAndNotTakenIsLeftOut) {
  PollSet set;
  set.add(1); // xenstore: nobody reads it once the devices are up
  set.add(3); // netfront
  set.after_wait([](std::uint32_t port) { return port == 1; });
  EXPECT_EQ(waited_on(set), (std::vector<std::uint32_t>{3}));
  // Still pending after the next wait: still left out.
  set.after_wait([](std::uint32_t port) { return port == 1; });
  EXPECT_EQ(waited_on(set), (std::vector<std::uint32_t>{3}));
}

TEST(XenPollSet, ATakenPortIsWaitedOnAgainEvenIfItIsPendingNow) {
  // The owner took the event, then another arrived before the wait: the wait
  // must include the port (poll returns at once) rather than sleep past it.
  PollSet set;
  set.add(3);
  set.after_wait([](std::uint32_t) { return true; });
  EXPECT_TRUE(waited_on(set).empty());
  set.taken(3);
  EXPECT_EQ(waited_on(set), (std::vector<std::uint32_t>{3}));
}

TEST(XenPollSet, RemovalKeepsTheOtherPortsMarks) {
  PollSet set;
  set.add(1);
  set.add(2);
  set.add(3);
  set.after_wait([](std::uint32_t port) { return port == 3; });
  set.remove(1); // port 3 moves into port 1's place
  EXPECT_EQ(waited_on(set), (std::vector<std::uint32_t>{2}));
}

TEST(XenPollSet, IgnoresPortsBeyondItsCapacity) {
  PollSet set;
  for (std::uint32_t port = 1; port <= PollSet::capacity + 5; ++port) set.add(port);
  EXPECT_EQ(waited_on(set).size(), PollSet::capacity);
}

} // namespace
} // namespace morgana::pvh::xen
