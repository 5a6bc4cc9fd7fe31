#include "morgana/platform/pvh/xen_netfront.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/args.h"
#include "morgana/core/counter.h"
#include "morgana/core/log.h"

namespace morgana::pvh::xen {
namespace {

log::Source netfront_log{"netfront"};

Counter receive_bad_id{"netfront.rx_bad_id", "receive responses whose id is not the buffer of their slot, dropped"};
Counter receive_error{"netfront.rx_error", "receive responses with a negative status, dropped"};
Counter receive_malformed{"netfront.rx_malformed", "receive responses with an offset and length past the page"};
Counter receive_split{"netfront.rx_split", "frames split over buffers or with extra info (not negotiated), dropped"};
Counter receive_too_long{"netfront.rx_too_long", "frames longer than the reader's buffer, dropped"};
Counter transmit_bad_id{"netfront.tx_bad_id", "transmit responses naming a slot not with the back end, ignored"};
Counter transmit_error{"netfront.tx_error", "frames the back end reported as dropped or in error"};
Counter transmit_ring_full{"netfront.tx_ring_full", "frames not sent: every transmit slot was with the back end"};
Counter transmit_too_long{"netfront.tx_too_long", "frames not sent: longer than the MTU allows"};

constexpr std::size_t path_capacity = 256;
using Path = StringBuilder<path_capacity>;

// `base`/`key`, refused when it would not fit (a back end path is outside input).
Result<Path> path_of(std::string_view base, std::string_view key) {
  if (base.size() + 1 + key.size() >= path_capacity) return fail(Errc::malformed, "netfront: xenstore path too long");
  Path path;
  format_to(path, "{}/{}", base, key);
  return path;
}

Result<std::string_view> read_key(Store& store, std::string_view base, std::string_view key, std::int64_t deadline_ns) {
  auto path = TRY(path_of(base, key));
  return store.read(path.view(), deadline_ns);
}

Result<void> write_key(Store& store, Store::Transaction tx, std::string_view base, std::string_view key,
                       std::uint32_t value, std::int64_t deadline_ns) {
  auto path = TRY(path_of(base, key));
  StringBuilder<12> text;
  format_to(text, "{}", value);
  return store.write(path.view(), text.view(), deadline_ns, tx);
}

} // namespace

Netfront::Netfront(Services& services, GrantTable& grants, Memory memory)
    : m_services(services), m_grants(grants), m_memory(std::move(memory)),
      m_transmit(std::span(m_memory.rings.data(), page_size)),
      m_receive(std::span(m_memory.rings.data() + page_size, page_size)) {}

Netfront::~Netfront() {
  bool all_ended = true;
  auto end = [&](GrantRef& ref) {
    if (ref != 0 && !m_grants.end_access(ref)) all_ended = false;
    ref = 0;
  };
  for (auto& ref : m_ring_refs) end(ref);
  for (auto& ref : m_receive_refs) end(ref);
  for (auto& ref : m_transmit_refs) end(ref);
  if (!all_ended) {
    netfront_log.warn("the back end still maps pages of ours: {} KiB left allocated",
                      (m_memory.rings.size() + m_memory.receive_pages.size() + m_memory.transmit_pages.size()) / 1024);
    m_memory.rings.abandon();
    m_memory.receive_pages.abandon();
    m_memory.transmit_pages.abandon();
  }
}

Result<std::unique_ptr<Netfront>> Netfront::create(Store& store, GrantTable& grants, Services& services,
                                                   std::string_view device, std::int64_t deadline_ns) {
  // The back end's directory, domain, and the MAC the toolstack chose.
  Path backend;
  {
    auto value = TRY(read_key(store, device, "backend", deadline_ns));
    if (value.empty() || value.size() >= path_capacity) return fail(Errc::malformed, "netfront: backend path");
    backend.write(value);
  }
  std::uint16_t backend_domain = 0;
  auto backend_id = TRY(read_key(store, device, "backend-id", deadline_ns));
  TRY(args::parse_value(backend_id, backend_domain));
  MacAddress mac;
  auto mac_text = TRY(read_key(store, device, "mac", deadline_ns));
  TRY(parse_value(mac_text, mac));
  if (mac.is_multicast()) return fail(Errc::malformed, "netfront: multicast MAC in xenstore");
  // Without copying receive the back end would hand us its own pages to map.
  if (auto copy = read_key(store, backend.view(), "feature-rx-copy", deadline_ns); !copy || *copy != "1")
    return fail(Errc::unsupported, "netfront: back end without feature-rx-copy");

  Memory memory{
      TRY(virtio::DmaMemory::allocate(2 * page_size, page_size)),
      TRY(virtio::DmaMemory::allocate(receive_slots * page_size, page_size)),
      TRY(virtio::DmaMemory::allocate(transmit_slots / 2 * page_size, page_size)),
  };
  auto device_state = TRY(try_make_unique<Netfront>("netfront", services, grants, std::move(memory)));
  auto& net = *device_state;
  net.m_backend = backend_domain;
  net.m_mac = mac;
  TRY(net.grant_all(backend_domain));
  net.m_port = TRY(services.alloc_unbound(backend_domain));
  for (std::uint16_t id = 0; id < transmit_slots; ++id) net.m_free_transmit[net.m_free_transmit_count++] = id;
  for (std::uint16_t id = 0; id < receive_slots; ++id) net.post_receive(id);
  (void)net.m_receive.push_requests(); // the back end reads the ring when it connects
  net.m_receive_unpushed = 0;
  TRY(net.publish(store, device, deadline_ns));
  services.unmask(net.m_port);

  // Connected once the back end says so; polled, as this client sets no watches.
  auto state_path = TRY(path_of(backend.view(), "state"));
  while (true) {
    std::uint32_t state = 0;
    auto value = TRY(store.read(state_path.view(), deadline_ns));
    TRY(args::parse_value(value, state));
    if (state == state_connected) break;
    if (state >= state_closing) return fail(Errc::closed, "netfront: back end closing");
    if (services.now_ns() >= deadline_ns) return fail(Errc::timed_out, "netfront: back end not connected");
    services.wait(store.port(), std::min(deadline_ns, services.now_ns() + poll_interval_ns));
  }
  netfront_log.info("connected to {} (domain {}), event channel {}", backend.view(), backend_domain, net.m_port);
  return device_state;
}

Result<void> Netfront::grant_all(std::uint16_t backend) {
  m_ring_refs[0] = TRY(m_grants.grant_access(backend, m_services.gfn(m_memory.rings.data()), false));
  m_ring_refs[1] = TRY(m_grants.grant_access(backend, m_services.gfn(m_memory.rings.data() + page_size), false));
  for (std::uint16_t id = 0; id < receive_slots; ++id)
    m_receive_refs[id] = TRY(m_grants.grant_access(backend, m_services.gfn(receive_page(id)), false));
  for (std::size_t page = 0; page < transmit_slots / 2; ++page)
    m_transmit_refs[page] =
        TRY(m_grants.grant_access(backend, m_services.gfn(m_memory.transmit_pages.data() + page * page_size), true));
  return {};
}

// The keys netback reads (Linux's connect_data_rings and read_xenbus_vif_flags),
// and the state that tells it to read them, in one transaction.
Result<void> Netfront::publish(Store& store, std::string_view device, std::int64_t deadline_ns) {
  while (true) {
    auto tx = TRY(store.transaction_start(deadline_ns));
    auto written = [&]() -> Result<void> {
      TRY(write_key(store, tx, device, "tx-ring-ref", m_ring_refs[0], deadline_ns));
      TRY(write_key(store, tx, device, "rx-ring-ref", m_ring_refs[1], deadline_ns));
      TRY(write_key(store, tx, device, "event-channel", m_port, deadline_ns));
      TRY(write_key(store, tx, device, "request-rx-copy", 1, deadline_ns));
      TRY(write_key(store, tx, device, "feature-rx-notify", 1, deadline_ns));
      // Our stack checks every checksum: frames must arrive with them filled in.
      TRY(write_key(store, tx, device, "feature-no-csum-offload", 1, deadline_ns));
      TRY(write_key(store, tx, device, "state", state_connected, deadline_ns));
      return {};
    }();
    if (!written) {
      (void)store.transaction_end(tx, false, deadline_ns);
      return std::unexpected(written.error());
    }
    auto ended = store.transaction_end(tx, true, deadline_ns);
    if (ended) return {};
    if (ended.error() != Errc::would_block) return ended;
    netfront_log.debug("xenstore transaction conflicted; again");
  }
}

void Netfront::post_receive(std::uint16_t id) {
  // The ring is full but for this slot's buffer, which goes back at once.
  (void)m_receive.put_request({id, m_receive_refs[id]});
  ++m_receive_unpushed;
}

void Netfront::push_receive() {
  if (m_receive_unpushed == 0) return;
  m_receive_unpushed = 0;
  if (m_receive.push_requests()) (void)m_services.notify(m_port);
}

Result<std::size_t> Netfront::read(std::span<std::byte> frame, FrameOffload& offload) {
  offload = {};
  while (true) {
    while (auto response = m_receive.take_response()) {
      auto id = static_cast<std::uint16_t>(m_receive_consumed++ % receive_slots);
      // Re-posted once the frame is copied out; in batches, before the back end could run dry.
      struct Repost {
        Netfront& net;
        std::uint16_t id;
        ~Repost() {
          net.post_receive(id);
          if (net.m_receive_unpushed >= receive_slots / 2) net.push_receive();
        }
      } repost{*this, id};
      if (m_skip_extra) {
        m_skip_extra = false;
        continue;
      }
      bool more = response->flags & netif::rx_more_data;
      if (m_dropping_more) {
        m_dropping_more = more;
        continue;
      }
      if (response->flags & (netif::rx_more_data | netif::rx_extra_info)) {
        receive_split.increment();
        m_skip_extra = response->flags & netif::rx_extra_info;
        m_dropping_more = more;
        continue;
      }
      if (response->id != id) {
        receive_bad_id.increment();
        continue;
      }
      if (response->status < 0) {
        receive_error.increment();
        continue;
      }
      auto length = static_cast<std::size_t>(response->status);
      if (response->offset + length > page_size) {
        receive_malformed.increment();
        continue;
      }
      if (length > frame.size()) {
        receive_too_long.increment();
        return fail(Errc::no_space, "frame longer than the buffer");
      }
      std::memcpy(frame.data(), receive_page(id) + response->offset, length);
      return length;
    }
    push_receive();
    if (!m_receive.final_check_for_responses()) return 0;
  }
}

void Netfront::reclaim_transmit() {
  while (auto response = m_transmit.take_response()) {
    if (response->id >= transmit_slots || !m_transmit_in_flight[response->id]) {
      transmit_bad_id.increment();
      continue;
    }
    if (response->status != netif::response_okay) transmit_error.increment();
    m_transmit_in_flight[response->id] = false;
    m_free_transmit[m_free_transmit_count++] = response->id;
  }
}

Result<void> Netfront::write(std::span<const std::byte> frame, const FrameOffload& /*offload*/) {
  reclaim_transmit();
  if (frame.size() > max_frame) {
    transmit_too_long.increment();
    return fail(Errc::no_space, "frame longer than the MTU");
  }
  if (m_free_transmit_count == 0 || m_transmit.free_requests() == 0) {
    transmit_ring_full.increment();
    return fail(Errc::would_block, "transmit ring full");
  }
  auto id = m_free_transmit[--m_free_transmit_count];
  auto page = id / 2u;
  auto offset = static_cast<std::uint16_t>(id % 2u * transmit_slot_size);
  std::memcpy(m_memory.transmit_pages.data() + page * page_size + offset, frame.data(), frame.size());
  // A whole frame, checksums filled in: no NETTXF_* flags.
  (void)m_transmit.put_request({m_transmit_refs[page], offset, 0, id, static_cast<std::uint16_t>(frame.size())});
  m_transmit_in_flight[id] = true;
  if (m_transmit.push_requests()) (void)m_services.notify(m_port);
  return {};
}

bool Netfront::input_pending() {
  (void)m_services.take_pending(m_port);
  push_receive();
  return m_receive.final_check_for_responses();
}

void Netfront::format(FormatSink& sink) const {
  format_to(sink, "back end domain {}, MAC {}, MTU {}, {}+{} buffers, event channel {}", m_backend, m_mac, mtu_value,
            receive_slots, transmit_slots, m_port);
}

} // namespace morgana::pvh::xen
