#pragma once

// The front end of a generic Xen shared ring (xen/include/public/io/ring.h):
// one page the front and back ends share, a header of four free-running
// indices (req_prod, req_event, rsp_prod, rsp_event) and a power-of-two array
// of entries, each big enough for a request or a response. The front end
// keeps its own producer (req_prod_pvt) and consumer (rsp_cons) indices and
// publishes requests in batches; the back end answers them in any order by id.
// Everything read from the page is outside input: a response producer that
// runs ahead of the requests we made is counted and ignored, and an entry is
// copied out once before it is decoded, so the back end cannot change it
// under the check.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

namespace morgana::pvh::xen {

inline constexpr std::size_t page_size = 4096;

// Fields of memory shared with another domain, used in place. x86 orders
// stores and loads as release and acquire already; the orders below keep the
// compiler from reordering, and seq_cst fences are Xen's mb().
template <class T>
[[nodiscard]] T load_shared(const std::byte* field, std::memory_order order = std::memory_order_relaxed) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): atomic_ref<const T> is C++26
  return std::atomic_ref(*reinterpret_cast<T*>(const_cast<std::byte*>(field))).load(order);
}
template <class T>
void store_shared(std::byte* field, T value, std::memory_order order = std::memory_order_relaxed) {
  std::atomic_ref(*reinterpret_cast<T*>(field)).store(value, order);
}
inline void full_barrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

// A field of a structure Xen defines, in the guest's byte order (x86:
// little-endian), from or into a copy that no other domain writes.
template <class T>
[[nodiscard]] T load_field(const std::byte* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}
template <class T>
void store_field(std::byte* at, T value) {
  std::memcpy(at, &value, sizeof value);
}

// The index arithmetic of a front ring, independent of what its entries hold.
class FrontRingIndices {
public:
  // Offsets in struct <name>_sring: four RING_IDX, then 48 bytes of padding
  // and private fields before the entries.
  static constexpr std::size_t req_prod = 0, req_event = 4, rsp_prod = 8, rsp_event = 12, entries = 64;

  // SHARED_RING_INIT and FRONT_RING_INIT on `page` (page_size bytes), with
  // entries of `entry_size` bytes.
  FrontRingIndices(std::span<std::byte> page, std::size_t entry_size);

  // __RING_SIZE: as many entries as fit, rounded down to a power of two.
  [[nodiscard]] static constexpr std::uint32_t size_for(std::size_t entry_size) {
    auto fit = (page_size - entries) / entry_size;
    std::uint32_t size = 1;
    while (size * 2 <= fit) size *= 2;
    return size;
  }
  [[nodiscard]] std::uint32_t size() const { return m_size; }
  // Requests made and not yet answered.
  [[nodiscard]] std::uint32_t outstanding() const { return m_request_producer - m_response_consumer; }
  // RING_FREE_REQUESTS.
  [[nodiscard]] std::uint32_t free_requests() const { return m_size - outstanding(); }
  [[nodiscard]] std::span<std::byte> page() const { return m_page; }

  // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes the requests put since the
  // last push and returns whether the back end asked to be notified of them
  // (its req_event lies in the range just published).
  [[nodiscard]] bool push_requests();
  // RING_HAS_UNCONSUMED_RESPONSES, bounded by what we asked for: a response
  // producer further ahead is counted (xen_ring.bad_response_producer) and
  // reads as no responses.
  [[nodiscard]] std::uint32_t unconsumed_responses() const;
  // RING_FINAL_CHECK_FOR_RESPONSES: whether responses wait; if none do, asks
  // the back end (rsp_event) to notify at the next one, and checks again so a
  // response that raced the request is not missed.
  [[nodiscard]] bool final_check_for_responses();

protected:
  // The entry for the next request, which the caller fills; the caller has
  // checked free_requests().
  [[nodiscard]] std::byte* next_request_entry();
  // The entry of the next response, consumed; null when none waits.
  [[nodiscard]] const std::byte* next_response_entry();

private:
  [[nodiscard]] std::byte* entry(std::uint32_t index) const {
    return m_page.data() + entries + std::size_t{index & (m_size - 1)} * m_entry_size;
  }

  std::span<std::byte> m_page;
  std::size_t m_entry_size;
  std::uint32_t m_size;
  std::uint32_t m_request_producer = 0;  // req_prod_pvt
  std::uint32_t m_published = 0;         // the req_prod we last stored
  std::uint32_t m_response_consumer = 0; // rsp_cons
};

// A front ring whose entries `Wire` encodes and decodes:
//   struct Wire { using Request = ...; using Response = ...; static constexpr std::size_t entry_size;
//                 static void encode(const Request&, std::byte*); static Response decode(const std::byte*); };
template <class Wire>
class FrontRing : public FrontRingIndices {
public:
  using Request = typename Wire::Request;
  using Response = typename Wire::Response;
  static constexpr std::uint32_t capacity() { return FrontRingIndices::size_for(Wire::entry_size); }

  explicit FrontRing(std::span<std::byte> page) : FrontRingIndices(page, Wire::entry_size) {}

  // Puts one request on the ring, unpublished; false when the ring is full.
  [[nodiscard]] bool put_request(const Request& request) {
    if (free_requests() == 0) return false;
    Wire::encode(request, next_request_entry());
    return true;
  }
  // The next response, copied out of the shared page before it is decoded.
  [[nodiscard]] std::optional<Response> take_response() { return take_response_as(&Wire::decode); }
  // The same, for an entry of another kind that shares the ring (netif's
  // extra info), decoded by `decode`.
  template <class Decoded>
  [[nodiscard]] std::optional<Decoded> take_response_as(Decoded (*decode)(const std::byte*)) {
    const auto* entry = next_response_entry();
    if (!entry) return std::nullopt;
    std::byte copy[Wire::entry_size];
    std::memcpy(copy, entry, sizeof copy);
    return decode(copy);
  }
};

} // namespace morgana::pvh::xen
