#include "xen_fake.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <new>

namespace morgana::pvh::xen::test {
namespace {

// struct xenstore_domain_interface.
constexpr std::size_t store_ring = 1024, store_req = 0, store_rsp = 1024, store_req_cons = 2048, store_req_prod = 2052,
                      store_rsp_cons = 2056, store_rsp_prod = 2060;
// xsd_sockmsg types.
constexpr std::uint32_t xs_directory = 1, xs_read = 2, xs_transaction_start = 6, xs_transaction_end = 7, xs_write = 11,
                        xs_error = 16;
// A shared ring's header and entries (io/ring.h), netif's entry sizes and ring sizes.
constexpr std::size_t ring_req_prod = 0, ring_req_event = 4, ring_rsp_prod = 8, ring_rsp_event = 12, ring_entries = 64,
                      tx_entry = 12, rx_entry = 8;
constexpr std::uint32_t netif_ring_size = 256;

std::uint32_t number(const std::string& text) {
  return static_cast<std::uint32_t>(std::strtoul(text.c_str(), nullptr, 10));
}

} // namespace

Pages::Pages(std::size_t count)
    : m_memory(static_cast<std::byte*>(::operator new(count* page, std::align_val_t{page}))), m_count(count) {
  std::memset(m_memory.get(), 0, count * page);
}

void Pages::Free::operator()(std::byte* memory) const { ::operator delete(memory, std::align_val_t{page}); }

Result<void> FakeXen::notify(std::uint32_t port) {
  ++notifications[port];
  if (run_backends) run_backends();
  return {};
}

Result<std::uint32_t> FakeXen::alloc_unbound(std::uint16_t remote_domain) {
  unbound[m_next_port] = remote_domain;
  return m_next_port++;
}

std::uint64_t FakeXen::gfn(const void* address) const {
  auto start = reinterpret_cast<std::uintptr_t>(address) & ~std::uintptr_t{page - 1};
  auto [at, added] = m_gfns.try_emplace(start, 0x1000 + m_gfns.size());
  if (added) m_pages[at->second] = reinterpret_cast<std::byte*>(start); // NOLINT(performance-no-int-to-ptr)
  return at->second;
}

std::byte* FakeXen::page_of(std::uint64_t gfn) const {
  auto at = m_pages.find(gfn);
  return at == m_pages.end() ? nullptr : at->second;
}

void FakeXen::wait(std::uint32_t, std::int64_t deadline_ns) {
  ++waits;
  if (run_backends) run_backends();
  now = std::max(now, std::min(deadline_ns, now + wait_step_ns));
}

FakeXenstored::FakeXenstored(std::span<std::byte> interface, std::string domain_path)
    : m_page(interface), m_domain_path(std::move(domain_path)) {}

std::string FakeXenstored::absolute(std::string_view path) const {
  if (path.starts_with('/')) return std::string(path);
  return m_domain_path + "/" + std::string(path);
}

void FakeXenstored::step() {
  auto consumer = load<std::uint32_t>(m_page.data() + store_req_cons);
  auto producer = load<std::uint32_t>(m_page.data() + store_req_prod);
  for (; consumer != producer; ++consumer) m_input.push_back(m_page[store_req + consumer % store_ring]);
  store(m_page.data() + store_req_cons, consumer);
  while (m_input.size() >= 16) {
    auto length = load<std::uint32_t>(m_input.data() + 12);
    if (m_input.size() < 16 + length) break;
    std::string payload(reinterpret_cast<const char*>(m_input.data() + 16), length);
    auto type = load<std::uint32_t>(m_input.data());
    auto request_id = load<std::uint32_t>(m_input.data() + 4);
    auto tx = load<std::uint32_t>(m_input.data() + 8);
    m_input.erase(m_input.begin(), m_input.begin() + 16 + length);
    request_types.push_back(type);
    handle(type, request_id, tx, std::move(payload));
  }
  flush();
}

void FakeXenstored::inject(std::span<const std::byte> bytes) {
  m_output.insert(m_output.end(), bytes.begin(), bytes.end());
  flush();
}

void FakeXenstored::inject_message(std::uint32_t type, std::uint32_t request_id, std::string_view payload) {
  std::vector<std::byte> message(16 + payload.size());
  store(message.data(), type);
  store(message.data() + 4, request_id);
  store(message.data() + 8, std::uint32_t{0});
  store(message.data() + 12, static_cast<std::uint32_t>(payload.size()));
  std::memcpy(message.data() + 16, payload.data(), payload.size());
  inject(message);
}

void FakeXenstored::release_held() {
  m_output.insert(m_output.end(), m_held.begin(), m_held.end());
  m_held.clear();
  flush();
}

void FakeXenstored::handle(std::uint32_t type, std::uint32_t request_id, std::uint32_t tx, std::string payload) {
  auto error = [&](std::string_view name) { answer(xs_error, request_id, tx, std::string(name) + '\0'); };
  auto first = payload.substr(0, payload.find('\0'));
  auto* writes = tx ? &m_transactions[tx] : nullptr;
  switch (type) {
  case xs_read: {
    auto path = absolute(first);
    if (writes && writes->contains(path)) return answer(type, request_id, tx, (*writes)[path]);
    auto at = tree.find(path);
    if (at == tree.end()) return error("ENOENT");
    return answer(type, request_id, tx, at->second);
  }
  case xs_write: {
    auto path = absolute(first);
    auto value = payload.substr(std::min(payload.size(), first.size() + 1));
    std::map<std::string, std::string> one{{path, value}};
    if (writes) (*writes)[path] = value;
    else commit(one);
    return answer(type, request_id, tx, std::string("OK") + '\0');
  }
  case xs_directory: {
    auto prefix = absolute(first) + "/";
    std::set<std::string> names;
    for (const auto& [key, value] : tree)
      if (key.starts_with(prefix))
        names.insert(key.substr(prefix.size(), key.find('/', prefix.size()) - prefix.size()));
    if (names.empty() && !tree.contains(absolute(first))) return error("ENOENT");
    std::string list;
    for (const auto& name : names) list += name + '\0';
    return answer(type, request_id, tx, list);
  }
  case xs_transaction_start: {
    auto id = m_next_transaction++;
    m_transactions[id] = {};
    return answer(type, request_id, 0, std::to_string(id) + '\0');
  }
  case xs_transaction_end: {
    auto at = m_transactions.find(tx);
    if (at == m_transactions.end()) return error("EINVAL");
    auto pending = std::move(at->second);
    m_transactions.erase(at);
    if (payload == std::string("T") + '\0') {
      if (conflicting_commits > 0) {
        --conflicting_commits;
        return error("EAGAIN");
      }
      commit(pending);
    }
    return answer(type, request_id, 0, std::string("OK") + '\0');
  }
  default: return error("ENOSYS");
  }
}

void FakeXenstored::commit(std::map<std::string, std::string>& writes) {
  for (const auto& [path, value] : writes) {
    tree[path] = value;
    if (on_write) on_write(path, value);
  }
}

void FakeXenstored::answer(std::uint32_t type, std::uint32_t request_id, std::uint32_t tx, std::string_view payload) {
  std::vector<std::byte> message(16 + payload.size());
  store(message.data(), type);
  store(message.data() + 4, request_id);
  store(message.data() + 8, tx);
  store(message.data() + 12, static_cast<std::uint32_t>(payload.size()));
  std::memcpy(message.data() + 16, payload.data(), payload.size());
  auto& queue = answering ? m_output : m_held;
  queue.insert(queue.end(), message.begin(), message.end());
}

void FakeXenstored::flush() {
  auto consumer = load<std::uint32_t>(m_page.data() + store_rsp_cons);
  auto producer = load<std::uint32_t>(m_page.data() + store_rsp_prod);
  while (!m_output.empty() && producer - consumer < store_ring) {
    m_page[store_rsp + producer % store_ring] = m_output.front();
    m_output.pop_front();
    ++producer;
  }
  store(m_page.data() + store_rsp_prod, producer);
}

FakeNetback::FakeNetback(FakeXen& xen, FakeXenstored& store, std::span<std::byte> grant_table, std::string frontend,
                         std::string backend, std::uint16_t domain)
    : m_xen(xen), m_store(store), m_grants(grant_table), m_frontend(std::move(frontend)), m_backend(std::move(backend)),
      m_domain(domain) {}

void FakeNetback::write_toolstack_keys(std::string_view mac) {
  auto& tree = m_store.tree;
  tree[m_frontend + "/backend"] = m_backend;
  tree[m_frontend + "/backend-id"] = std::to_string(m_domain);
  tree[m_frontend + "/mac"] = std::string(mac);
  tree[m_frontend + "/state"] = "1";
  tree[m_backend + "/frontend"] = m_frontend;
  tree[m_backend + "/state"] = "2";
  tree[m_backend + "/feature-rx-copy"] = "1";
  tree[m_backend + "/feature-sg"] = "1";
  tree[m_backend + "/feature-gso-tcpv4"] = "1";
}

std::byte* FakeNetback::map(std::uint32_t ref, bool write) const {
  if (std::size_t{ref} >= m_grants.size() / 8) return nullptr;
  const auto* entry = m_grants.data() + std::size_t{ref} * 8;
  auto flags = load<std::uint16_t>(entry);
  if (!(flags & 1) || load<std::uint16_t>(entry + 2) != m_domain || (write && (flags & 4))) return nullptr;
  return m_xen.page_of(load<std::uint32_t>(entry + 4));
}

void FakeNetback::step() {
  if (!m_connected) {
    if (!willing) return;
    auto& tree = m_store.tree;
    if (tree[m_frontend + "/state"] != "4") return;
    m_tx = map(number(tree[m_frontend + "/tx-ring-ref"]), true);
    m_rx = map(number(tree[m_frontend + "/rx-ring-ref"]), true);
    event_channel = number(tree[m_frontend + "/event-channel"]);
    if (!m_tx || !m_rx || !m_xen.unbound.contains(event_channel) || m_xen.unbound[event_channel] != m_domain ||
        tree[m_frontend + "/request-rx-copy"] != "1")
      return;
    tree[m_backend + "/state"] = "4";
    m_connected = true;
  }
  if (take_transmits) take_transmits_now();
}

void FakeNetback::push(std::byte* ring, std::uint32_t producer) {
  auto old = load<std::uint32_t>(ring + ring_rsp_prod);
  store(ring + ring_rsp_prod, producer);
  auto event = load<std::uint32_t>(ring + ring_rsp_event);
  if (producer - event < producer - old) {
    m_xen.pending.insert(event_channel);
    ++frontend_notified;
  }
}

void FakeNetback::take_transmits_now() {
  auto producer = load<std::uint32_t>(m_tx + ring_req_prod);
  if (producer == m_tx_consumer) return;
  while (m_tx_consumer != producer) take_transmit_frame(producer);
  push(m_tx, m_tx_producer);
  if (rearm_requests) store(m_tx + ring_req_event, m_tx_consumer + 1);
}

// One frame as netback reads it (xenvif_count_requests, xenvif_get_extras):
// the first request's size is the frame's, the extra info entries follow it,
// then the requests its NETTXF_more_data flags link, none crossing a page.
void FakeNetback::take_transmit_frame(std::uint32_t producer) {
  constexpr std::uint16_t more_data = 1 << 2, extra_info = 1 << 3;
  constexpr std::uint16_t null_id = 0xffff; // an extra info entry's response: NETIF_RSP_NULL, id meaningless
  struct Request {
    std::uint32_t gref;
    std::uint16_t offset, flags, id, size;
  };
  std::vector<Request> requests;
  std::vector<std::uint16_t> response_ids;
  NetbackSent with;
  bool more = true;
  while (more) {
    if (m_tx_consumer == producer) {
      ADD_FAILURE() << "a transmitted frame's requests end before the frame does";
      break;
    }
    const auto* entry = m_tx + ring_entries + (m_tx_consumer++ % netif_ring_size) * tx_entry;
    Request request{load<std::uint32_t>(entry), load<std::uint16_t>(entry + 4), load<std::uint16_t>(entry + 6),
                    load<std::uint16_t>(entry + 8), load<std::uint16_t>(entry + 10)};
    requests.push_back(request);
    response_ids.push_back(request.id);
    more = request.flags & more_data;
    if (requests.size() == 1 && (request.flags & extra_info)) {
      for (bool more_extra = true; more_extra;) {
        if (m_tx_consumer == producer) {
          ADD_FAILURE() << "extra info announced and missing";
          break;
        }
        const auto* extra = m_tx + ring_entries + (m_tx_consumer++ % netif_ring_size) * tx_entry;
        with.extra = NetbackExtra{load<std::uint8_t>(extra), load<std::uint8_t>(extra + 1),
                                  load<std::uint16_t>(extra + 2), load<std::uint8_t>(extra + 4)};
        more_extra = with.extra->flags & 1;
        response_ids.push_back(null_id);
      }
    }
  }
  auto status = transmit_status;
  bool taken = !requests.empty();
  std::vector<std::byte> frame;
  if (!requests.empty()) {
    with.flags = requests[0].flags;
    with.slots = requests.size();
    // The first request's own part is what the others leave of the frame.
    std::size_t rest = 0;
    for (std::size_t i = 1; i < requests.size(); ++i) rest += requests[i].size;
    if (rest > requests[0].size || requests.size() > 18) {
      ADD_FAILURE() << "a frame of " << requests[0].size << " bytes over " << requests.size() << " requests";
      status = -1;
      taken = false;
      requests.clear();
    } else {
      requests[0].size = static_cast<std::uint16_t>(requests[0].size - rest);
    }
    for (const auto& request : requests) {
      const auto* data = map(request.gref, false);
      if (!data || request.offset + request.size > page) {
        ADD_FAILURE() << "transmit request with grant " << request.gref << " offset " << request.offset << " size "
                      << request.size;
        status = -1;
        taken = false;
        break;
      }
      frame.insert(frame.end(), data + request.offset, data + request.offset + request.size);
    }
  }
  for (auto id : response_ids) respond_transmit(id, id == null_id ? std::int16_t{1} : status);
  if (taken) {
    sent.push_back(std::move(frame));
    sent_with.push_back(with);
  }
}

void FakeNetback::respond_transmit(std::uint16_t id, std::int16_t status) {
  auto* response = m_tx + ring_entries + (m_tx_producer % netif_ring_size) * tx_entry;
  store(response, status == 1 ? id : transmit_response_id.value_or(id)); // NETIF_RSP_NULL: as it comes
  store(response + 2, status);
  ++m_tx_producer;
}

bool FakeNetback::deliver(std::span<const std::byte> frame, const NetbackDelivery& how) {
  if (!m_connected || load<std::uint32_t>(m_rx + ring_req_prod) == m_rx_consumer) return false;
  const auto* request = m_rx + ring_entries + (m_rx_consumer % netif_ring_size) * rx_entry;
  auto id = load<std::uint16_t>(request);
  auto* buffer = map(load<std::uint32_t>(request + 4), true);
  ++m_rx_consumer;
  if (!buffer) {
    ADD_FAILURE() << "receive request " << id << " without a writable grant";
    return false;
  }
  std::memcpy(buffer + how.offset, frame.data(), std::min(frame.size(), page - how.offset));
  auto* response = m_rx + ring_entries + (m_rx_producer % netif_ring_size) * rx_entry;
  store(response, how.id.value_or(id));
  store(response + 2, how.offset);
  store(response + 4, how.flags);
  store(response + 6, how.status.value_or(static_cast<std::int16_t>(frame.size())));
  ++m_rx_producer;
  push(m_rx, m_rx_producer);
  if (rearm_requests) store(m_rx + ring_req_event, m_rx_consumer + 1);
  return true;
}

bool FakeNetback::deliver_extra(const NetbackExtra& extra) {
  if (!m_connected || load<std::uint32_t>(m_rx + ring_req_prod) == m_rx_consumer) return false;
  ++m_rx_consumer; // the buffer is not written
  auto* entry = m_rx + ring_entries + (m_rx_producer % netif_ring_size) * rx_entry;
  store(entry, extra.type);
  store(entry + 1, extra.flags);
  store(entry + 2, extra.gso_size);
  store(entry + 4, extra.gso_type);
  store(entry + 5, std::uint8_t{0});
  store(entry + 6, std::uint16_t{0});
  ++m_rx_producer;
  push(m_rx, m_rx_producer);
  if (rearm_requests) store(m_rx + ring_req_event, m_rx_consumer + 1);
  return true;
}

bool FakeNetback::deliver_chain(std::span<const std::byte> frame, std::size_t chunk, std::uint16_t flags,
                                const std::vector<NetbackExtra>& extras) {
  constexpr std::uint16_t more_data = 1 << 2, extra_info = 1 << 3;
  auto pieces = std::max<std::size_t>(1, (frame.size() + chunk - 1) / chunk);
  if (posted() < pieces + extras.size()) return false;
  for (std::size_t i = 0; i < pieces; ++i) {
    auto piece = frame.subspan(i * chunk, std::min(chunk, frame.size() - i * chunk));
    std::uint16_t piece_flags = i == 0 ? flags : 0;
    if (i == 0 && !extras.empty()) piece_flags |= extra_info;
    if (i + 1 < pieces) piece_flags |= more_data;
    (void)deliver(piece, NetbackDelivery{.flags = piece_flags});
    if (i == 0)
      for (std::size_t e = 0; e < extras.size(); ++e) {
        auto extra = extras[e];
        if (e + 1 < extras.size()) extra.flags |= 1; // XEN_NETIF_EXTRA_FLAG_MORE
        (void)deliver_extra(extra);
      }
  }
  return true;
}

std::uint32_t FakeNetback::posted() const {
  return m_connected ? load<std::uint32_t>(m_rx + ring_req_prod) - m_rx_consumer : 0;
}

} // namespace morgana::pvh::xen::test
