#include "morgana/platform/pvh/xen_ring.h"

#include <gtest/gtest.h>

#include "counters.h"
#include "xen_fake.h"

namespace morgana::pvh::xen {
namespace {

using test::load;
using test::Pages;
using test::store;
using test_support::CounterWatch;

// A ring of 16-byte entries: a request is a number, and so is its response.
struct NumberWire {
  using Request = std::uint64_t;
  using Response = std::uint64_t;
  static constexpr std::size_t entry_size = 16;
  static void encode(const std::uint64_t& request, std::byte* entry) { store(entry, request); }
  static std::uint64_t decode(const std::byte* entry) { return load<std::uint64_t>(entry); }
};

// The back end, from io/ring.h's layout: it answers each request with the
// number plus 1000 in the same slot, and publishes as the macros do.
class Backend {
public:
  explicit Backend(std::byte* page) : m_page(page) {}
  std::uint32_t requests() const { return load<std::uint32_t>(m_page) - m_consumer; }
  // Answers up to `count` requests; returns whether the front end asked to be notified.
  bool answer(std::uint32_t count) {
    for (; count && requests(); --count) {
      auto value = load<std::uint64_t>(slot(m_consumer++));
      store(slot(m_producer++), value + 1000);
    }
    auto old = load<std::uint32_t>(m_page + 8);
    store(m_page + 8, m_producer);
    auto event = load<std::uint32_t>(m_page + 12);
    return m_producer - event < m_producer - old;
  }
  void set_request_event(std::uint32_t event) { store(m_page + 4, event); }
  std::uint32_t consumer() const { return m_consumer; }
  std::byte* slot(std::uint32_t index) const { return m_page + 64 + (index % 128) * 16; }
  std::byte* page() const { return m_page; }

private:
  std::byte* m_page;
  std::uint32_t m_consumer = 0, m_producer = 0;
};

TEST(XenRing, SizeIsThePowerOfTwoOfEntriesThatFitAfterTheHeader) {
  EXPECT_EQ(FrontRingIndices::size_for(16), 128u); // (4096 - 64) / 16 = 252
  EXPECT_EQ(FrontRingIndices::size_for(12), 256u); // netif_tx: 336
  EXPECT_EQ(FrontRingIndices::size_for(8), 256u);  // netif_rx: 504
  EXPECT_EQ(FrontRingIndices::size_for(112), 32u); // blkif: 36
}

TEST(XenRing, InitialisationAsksForAnEventAtTheFirstRequestAndResponse) {
  Pages page(1);
  std::memset(page.data(), 0xff, test::page);
  FrontRing<NumberWire> ring(page.span());
  EXPECT_EQ(load<std::uint32_t>(page.data()), 0u);
  EXPECT_EQ(load<std::uint32_t>(page.data() + 4), 1u);
  EXPECT_EQ(load<std::uint32_t>(page.data() + 8), 0u);
  EXPECT_EQ(load<std::uint32_t>(page.data() + 12), 1u);
  EXPECT_EQ(ring.size(), 128u);
  EXPECT_EQ(ring.free_requests(), 128u);
}

TEST(XenRing, RequestsAreSeenOnlyWhenPushedAndNotifyWhenReqEventIsCrossed) {
  Pages page(1);
  FrontRing<NumberWire> ring(page.span());
  Backend backend(page.data());
  ASSERT_TRUE(ring.put_request(1));
  ASSERT_TRUE(ring.put_request(2));
  EXPECT_EQ(backend.requests(), 0u);
  EXPECT_TRUE(ring.push_requests()); // req_event 1 lies in (0, 2]
  EXPECT_EQ(backend.requests(), 2u);
  EXPECT_EQ(load<std::uint64_t>(backend.slot(1)), 2u);
  // The back end is busy and will look again: req_event far ahead.
  backend.set_request_event(10);
  ASSERT_TRUE(ring.put_request(3));
  EXPECT_FALSE(ring.push_requests());
  for (std::uint64_t value = 4; value <= 10; ++value) ASSERT_TRUE(ring.put_request(value));
  EXPECT_TRUE(ring.push_requests());  // 10 lies in (3, 10]
  EXPECT_FALSE(ring.push_requests()); // nothing new
}

TEST(XenRing, ResponsesComeBackAndFinalCheckReArmsRspEvent) {
  Pages page(1);
  FrontRing<NumberWire> ring(page.span());
  Backend backend(page.data());
  for (std::uint64_t value = 0; value < 3; ++value) ASSERT_TRUE(ring.put_request(value));
  (void)ring.push_requests();
  EXPECT_TRUE(backend.answer(1)); // rsp_event 1
  EXPECT_FALSE(backend.answer(1));
  EXPECT_EQ(ring.take_response(), 1000u);
  EXPECT_EQ(ring.take_response(), 1001u);
  EXPECT_EQ(ring.take_response(), std::nullopt);
  EXPECT_EQ(ring.outstanding(), 1u);
  // Nothing waits: the front end asks for an event at the next response.
  EXPECT_FALSE(ring.final_check_for_responses());
  EXPECT_EQ(load<std::uint32_t>(page.data() + 12), 3u);
  EXPECT_TRUE(backend.answer(1));
  EXPECT_TRUE(ring.final_check_for_responses());
  EXPECT_EQ(ring.take_response(), 1002u);
}

TEST(XenRing, AFullRingRefusesRequestsAndIndicesWrapAroundTheEntries) {
  Pages page(1);
  FrontRing<NumberWire> ring(page.span());
  Backend backend(page.data());
  std::uint64_t next = 0, expected = 0;
  for (int round = 0; round < 5; ++round) {
    while (ring.put_request(next)) ++next;
    EXPECT_EQ(ring.free_requests(), 0u);
    (void)ring.push_requests();
    (void)backend.answer(100);
    while (auto response = ring.take_response()) EXPECT_EQ(*response, 1000 + expected++);
    EXPECT_EQ(ring.free_requests(), 100u);
  }
  EXPECT_EQ(next, 128u + 4 * 100);
  EXPECT_EQ(expected, 500u);
}

TEST(XenRing, AResponseProducerAheadOfTheRequestsIsIgnoredAndCounted) {
  Pages page(1);
  FrontRing<NumberWire> ring(page.span());
  ASSERT_TRUE(ring.put_request(7));
  (void)ring.push_requests();
  store(page.data() + 8, std::uint32_t{5});
  CounterWatch bad("xen_ring.bad_response_producer");
  EXPECT_EQ(ring.take_response(), std::nullopt);
  EXPECT_GE(bad.delta(), 1u);
  EXPECT_EQ(ring.outstanding(), 1u);
  store(page.data() + 8, std::uint32_t{1});
  EXPECT_EQ(ring.take_response(), 7u); // the back end never wrote a response: the slot still holds the request
}

} // namespace
} // namespace morgana::pvh::xen
