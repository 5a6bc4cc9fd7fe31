#pragma once

// A simulated Xen for the Xen devices' unit tests: the hypervisor's services
// (event channels, frame numbers, a virtual clock), xenstored on the other
// side of the xenstore page, and a netback on the other side of netfront's
// rings. The back ends are written from the public headers' layouts on their
// own, not with the front ends' code, and run whenever the front end
// notifies or waits, as the other domain would.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/platform/pvh/xen_ring.h"
#include "morgana/platform/pvh/xen_services.h"

namespace morgana::pvh::xen::test {

inline constexpr std::size_t page = 4096;

// Page-aligned, zeroed test memory.
class Pages {
public:
  explicit Pages(std::size_t count);
  [[nodiscard]] std::byte* data() const { return m_memory.get(); }
  [[nodiscard]] std::span<std::byte> span() const { return {m_memory.get(), m_count * page}; }

private:
  struct Free {
    void operator()(std::byte* memory) const;
  };
  std::unique_ptr<std::byte, Free> m_memory;
  std::size_t m_count;
};

// Fields in the guest's byte order.
template <class T>
T load(const std::byte* at) {
  return load_field<T>(at);
}
template <class T>
void store(std::byte* at, T value) {
  store_field(at, value);
}

class FakeXen final : public Services {
public:
  Result<void> notify(std::uint32_t port) override;
  Result<std::uint32_t> alloc_unbound(std::uint16_t remote_domain) override;
  void unmask(std::uint32_t port) override { unmasked.insert(port); }
  bool take_pending(std::uint32_t port) override { return pending.erase(port) > 0; }
  std::uint64_t gfn(const void* address) const override;
  std::int64_t now_ns() override { return now; }
  void wait(std::uint32_t port, std::int64_t deadline_ns) override;

  // The page a frame number stands for; null for one never handed out.
  [[nodiscard]] std::byte* page_of(std::uint64_t gfn) const;

  std::function<void()> run_backends; // on every notify and wait
  std::int64_t now = 0;
  std::int64_t wait_step_ns = 1'000'000;          // how far a wait moves the clock (at most to its deadline)
  std::map<std::uint32_t, int> notifications;     // by port
  std::map<std::uint32_t, std::uint16_t> unbound; // port -> remote domain
  std::set<std::uint32_t> pending, unmasked;
  int waits = 0;

private:
  std::uint32_t m_next_port = 20;
  mutable std::map<std::uintptr_t, std::uint64_t> m_gfns;
  mutable std::map<std::uint64_t, std::byte*> m_pages;
};

// xenstored behind one domain's xenstore_domain_interface page.
class FakeXenstored {
public:
  FakeXenstored(std::span<std::byte> interface, std::string domain_path);

  // Takes every request in the ring, answers complete ones, and puts as
  // much of the answers in the response ring as fits.
  void step();
  [[nodiscard]] std::string absolute(std::string_view path) const;
  // Raw bytes put in the response stream before the next answer.
  void inject(std::span<const std::byte> bytes);
  void inject_message(std::uint32_t type, std::uint32_t request_id, std::string_view payload);

  std::map<std::string, std::string> tree;
  bool answering = true;       // false: requests are taken and answers held back
  int conflicting_commits = 0; // transaction commits answered EAGAIN, before one succeeds
  std::vector<std::uint32_t> request_types;
  std::function<void(const std::string& path, const std::string& value)> on_write; // on committed writes

  void release_held(); // answers held back while !answering, in order

private:
  void handle(std::uint32_t type, std::uint32_t request_id, std::uint32_t tx, std::string payload);
  void answer(std::uint32_t type, std::uint32_t request_id, std::uint32_t tx, std::string_view payload);
  void commit(std::map<std::string, std::string>& writes);
  void flush();

  std::span<std::byte> m_page;
  std::string m_domain_path;
  std::vector<std::byte> m_input;
  std::deque<std::byte> m_output;
  std::deque<std::byte> m_held;
  std::uint32_t m_next_transaction = 1;
  std::map<std::uint32_t, std::map<std::string, std::string>> m_transactions;
};

struct NetbackDelivery {
  std::optional<std::uint16_t> id;
  std::uint16_t offset = 0;
  std::uint16_t flags = 0;
  std::optional<std::int16_t> status;
};

// struct netif_extra_info, as netback writes it after a receive response.
struct NetbackExtra {
  std::uint8_t type = 1; // XEN_NETIF_EXTRA_TYPE_GSO
  std::uint8_t flags = 0;
  std::uint16_t gso_size = 0;
  std::uint8_t gso_type = 1; // XEN_NETIF_GSO_TYPE_TCPV4
};

// What came with a frame taken from the transmit ring.
struct NetbackSent {
  std::uint16_t flags = 0;           // the first request's NETTXF_*
  std::optional<NetbackExtra> extra; // the GSO entry after it
  std::size_t slots = 0;             // data requests
};

// netback in domain `domain`, for the front end at `frontend`.
class FakeNetback {
public:
  FakeNetback(FakeXen& xen, FakeXenstored& store, std::span<std::byte> grant_table, std::string frontend,
              std::string backend, std::uint16_t domain = 0);

  // What the toolstack writes before the guest starts, and the features
  // Linux's netback offers (feature-sg, feature-gso-tcpv4).
  void write_toolstack_keys(std::string_view mac = "00:16:3e:12:34:56");
  // Connects once the front end says it is connected; takes transmit requests.
  void step();
  [[nodiscard]] bool connected() const { return m_connected; }

  // Puts one frame in the next posted receive buffer and publishes it; false
  // when no buffer is posted. The response's fields can be overridden.
  bool deliver(std::span<const std::byte> frame, const NetbackDelivery& how = {});
  // An extra info entry in the next receive slot.
  bool deliver_extra(const NetbackExtra& extra);
  // One frame as netback sends a large one: cut into `chunk`-byte pieces over
  // as many buffers, the first with `flags` (and NETRXF_extra_info followed
  // by `extras`), each but the last with NETRXF_more_data. False when too few
  // buffers are posted (nothing is delivered then).
  bool deliver_chain(std::span<const std::byte> frame, std::size_t chunk, std::uint16_t flags,
                     const std::vector<NetbackExtra>& extras = {});
  [[nodiscard]] std::uint32_t posted() const; // receive requests not yet answered

  std::vector<std::vector<std::byte>> sent; // frames taken from the transmit ring
  std::vector<NetbackSent> sent_with;       // and what came with each
  bool willing = true;                      // false: never connects
  bool take_transmits = true;
  std::int16_t transmit_status = 0;
  std::optional<std::uint16_t> transmit_response_id;
  bool rearm_requests = true; // set req_event after taking requests (RING_FINAL_CHECK_FOR_REQUESTS)
  int frontend_notified = 0;  // pushes after which the front end's rsp_event asked for an event
  std::uint32_t event_channel = 0;
  std::uint32_t receive_ring_size() const { return 256; }
  std::byte* receive_ring() const { return m_rx; }
  std::byte* transmit_ring() const { return m_tx; }

private:
  [[nodiscard]] std::byte* map(std::uint32_t ref, bool write) const;
  void take_transmits_now();
  void take_transmit_frame(std::uint32_t producer);
  void respond_transmit(std::uint16_t id, std::int16_t status);
  void push(std::byte* ring, std::uint32_t producer);

  FakeXen& m_xen;
  FakeXenstored& m_store;
  std::span<std::byte> m_grants;
  std::string m_frontend, m_backend;
  std::uint16_t m_domain;
  bool m_connected = false;
  std::byte* m_tx = nullptr;
  std::byte* m_rx = nullptr;
  std::uint32_t m_tx_consumer = 0, m_tx_producer = 0;
  std::uint32_t m_rx_consumer = 0, m_rx_producer = 0;
};

} // namespace morgana::pvh::xen::test
