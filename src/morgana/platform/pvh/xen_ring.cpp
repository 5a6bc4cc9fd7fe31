#include "morgana/platform/pvh/xen_ring.h"

#include "morgana/core/counter.h"
#include "morgana/platform/interface.h"

namespace morgana::pvh::xen {
namespace {

Counter bad_response_producer{"xen_ring.bad_response_producer",
                              "times a back end's rsp_prod claimed more responses than requests were made"};

} // namespace

FrontRingIndices::FrontRingIndices(std::span<std::byte> page, std::size_t entry_size)
    : m_page(page), m_entry_size(entry_size), m_size(size_for(entry_size)) {
  if (page.size() < page_size || entry_size == 0 || entry_size > page_size - entries)
    platform::abort("xen ring: page too small for its entries");
  std::memset(page.data(), 0, page_size);
  // SHARED_RING_INIT: the first request and the first response notify.
  store_shared<std::uint32_t>(page.data() + req_event, 1);
  store_shared<std::uint32_t>(page.data() + rsp_event, 1);
}

bool FrontRingIndices::push_requests() {
  auto old_producer = m_published;
  auto new_producer = m_request_producer;
  // The entries are visible before the index that publishes them (wmb).
  store_shared(m_page.data() + req_prod, new_producer, std::memory_order_release);
  m_published = new_producer;
  // The index is visible before we read the back end's req_event (mb).
  full_barrier();
  auto event = load_shared<std::uint32_t>(m_page.data() + req_event);
  return static_cast<std::uint32_t>(new_producer - event) < static_cast<std::uint32_t>(new_producer - old_producer);
}

std::uint32_t FrontRingIndices::unconsumed_responses() const {
  // Entries below rsp_prod are read after it (rmb).
  auto producer = load_shared<std::uint32_t>(m_page.data() + rsp_prod, std::memory_order_acquire);
  auto waiting = producer - m_response_consumer;
  if (waiting > outstanding()) {
    bad_response_producer.increment();
    return 0;
  }
  return waiting;
}

bool FrontRingIndices::final_check_for_responses() {
  if (unconsumed_responses()) return true;
  store_shared(m_page.data() + rsp_event, m_response_consumer + 1);
  full_barrier();
  return unconsumed_responses() != 0;
}

std::byte* FrontRingIndices::next_request_entry() { return entry(m_request_producer++); }

const std::byte* FrontRingIndices::next_response_entry() {
  if (!unconsumed_responses()) return nullptr;
  return entry(m_response_consumer++);
}

} // namespace morgana::pvh::xen
