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
Counter receive_split{"netfront.rx_split",
                      "frames split over buffers or with extra info (gro not negotiated), dropped"};
Counter receive_too_long{"netfront.rx_too_long", "frames longer than the reader's buffer, dropped"};
Counter receive_long_chain{"netfront.rx_long_chain", "frames over more receive slots than a frame may take, dropped"};
Counter receive_bad_extra{"netfront.rx_bad_extra", "frames with an extra info entry of an unknown type, dropped"};
Counter receive_bad_gso{"netfront.rx_bad_gso",
                        "frames with a GSO type other than TCP/IPv4 or a GSO size of 0, dropped"};
Counter receive_bad_checksum_offload{"netfront.rx_bad_csum_blank",
                                     "frames marked csum_blank that are not TCP or UDP over IPv4, dropped"};
Counter receive_blank{"netfront.rx_csum_blank", "frames the back end sent with their checksum left blank (rx-csum)"};
Counter receive_large{"netfront.rx_large", "frames the back end sent over several buffers or with a GSO size (gro)"};
Counter transmit_large{"netfront.tx_large", "frames sent over several requests with a GSO size (tso)"};
Counter transmit_bad_id{"netfront.tx_bad_id", "transmit responses naming a slot not with the back end, ignored"};
Counter transmit_error{"netfront.tx_error", "transmit requests the back end reported as dropped or in error"};
Counter transmit_ring_full{"netfront.tx_ring_full", "frames not sent: too few transmit slots free"};
Counter transmit_too_long{"netfront.tx_too_long", "frames not sent: longer than the MTU (or a request) allows"};
Counter transmit_bad_offload{"netfront.tx_bad_offload",
                             "frames not sent: offload metadata the device did not negotiate"};

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

// Where the transport checksum of a csum_blank frame lies (netback does not
// say; Linux's netfront finds it the same way): TCP or UDP over IPv4, the
// only ones netback marks so when IPv6 checksum offload is not negotiated.
bool locate_checksum(std::span<const std::byte> frame, FrameOffload& offload) {
  constexpr std::size_t ethernet = 14;
  if (frame.size() < ethernet + 20 || frame[12] != std::byte{0x08} || frame[13] != std::byte{0x00}) return false;
  auto version_ihl = std::to_integer<unsigned>(frame[ethernet]);
  auto start = ethernet + (version_ihl & 0xf) * 4;
  if (version_ihl >> 4 != 4 || (version_ihl & 0xf) < 5) return false;
  std::size_t field = 0;
  switch (std::to_integer<unsigned>(frame[ethernet + 9])) {
  case 6: field = 16; break;
  case 17: field = 6; break;
  default: return false;
  }
  if (start + field + 2 > frame.size()) return false;
  offload.checksum_start = static_cast<std::uint16_t>(start);
  offload.checksum_offset = static_cast<std::uint16_t>(field);
  return true;
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
                                                   std::string_view device, NetOffloads allowed,
                                                   std::int64_t deadline_ns) {
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
  // netback always takes csum_blank requests and always can send large frames
  // (it reads our feature-sg and feature-gso-tcpv4); taking them from us needs
  // its own scatter-gather and GSO.
  auto backend_has = [&](std::string_view key) {
    auto value = read_key(store, backend.view(), key, deadline_ns);
    return value && *value == "1";
  };
  NetOffloads offered{.tx_checksum = true, .rx_checksum = true, .tso4 = false, .gro4 = true};
  offered.tso4 = backend_has("feature-sg") && backend_has("feature-gso-tcpv4");

  Memory memory{
      TRY(virtio::DmaMemory::allocate(2 * page_size, page_size)),
      TRY(virtio::DmaMemory::allocate(receive_slots * page_size, page_size)),
      TRY(virtio::DmaMemory::allocate(transmit_slots * page_size, page_size)),
  };
  auto device_state = TRY(try_make_unique<Netfront>("netfront", services, grants, std::move(memory)));
  auto& net = *device_state;
  net.m_backend = backend_domain;
  net.m_mac = mac;
  net.m_offloads = allowed & offered;
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
  for (std::size_t id = 0; id < transmit_slots; ++id)
    m_transmit_refs[id] =
        TRY(m_grants.grant_access(backend, m_services.gfn(m_memory.transmit_pages.data() + id * page_size), true));
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
      // Without rx-csum our stack checks every checksum: frames must arrive
      // with them filled in. gro: frames over several pages, with GSO info.
      TRY(write_key(store, tx, device, "feature-no-csum-offload", m_offloads.rx_checksum ? 0 : 1, deadline_ns));
      TRY(write_key(store, tx, device, "feature-sg", m_offloads.gro4 ? 1 : 0, deadline_ns));
      TRY(write_key(store, tx, device, "feature-gso-tcpv4", m_offloads.gro4 ? 1 : 0, deadline_ns));
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
  // Each buffer has its own ring slot: there is always room for it.
  (void)m_receive.put_request({id, m_receive_refs[id]});
  ++m_receive_unpushed;
}

// Re-posted once its frame is copied out; in batches, before the back end could run dry.
void Netfront::recycle_receive(std::uint16_t id) {
  post_receive(id);
  if (m_receive_unpushed >= receive_slots / 2) push_receive();
}

void Netfront::push_receive() {
  if (m_receive_unpushed == 0) return;
  m_receive_unpushed = 0;
  if (m_receive.push_requests()) (void)m_services.notify(m_port);
}

// Takes receive slots into m_chain until the frame they carry is whole (its
// first response, the extra info entries it announces, and the responses its
// NETRXF_more_data flags link); false when the ring runs out first. A chain
// longer than a frame may be gives its buffers back as it comes, so a back
// end cannot starve itself of buffers with one endless frame.
bool Netfront::gather_receive() {
  auto& chain = m_chain;
  while (!chain.started || chain.expect_extra || chain.more) {
    auto id = static_cast<std::uint16_t>(m_receive_consumed % receive_slots);
    if (chain.expect_extra) {
      auto extra = m_receive.take_response_as(&netif::decode_extra);
      if (!extra) return false;
      chain.expect_extra = extra->flags & netif::extra_flag_more;
      ++chain.extra_count;
      // Without gro any extra info is unexpected: counted as a split frame.
      if (!chain.discarding && m_offloads.gro4) note_extra(*extra);
    } else {
      auto response = m_receive.take_response();
      if (!response) return false;
      chain.expect_extra = !chain.started && (response->flags & netif::rx_extra_info);
      chain.more = response->flags & netif::rx_more_data;
      if (!chain.discarding) {
        chain.data[chain.data_count] = *response;
        chain.data_ids[chain.data_count++] = id;
      }
    }
    ++m_receive_consumed;
    chain.started = true;
    if (chain.discarding) {
      recycle_receive(id);
      continue;
    }
    if (chain.slots++ == 0) chain.first = id;
    if (chain.slots == max_receive_chain && (chain.expect_extra || chain.more)) {
      receive_long_chain.increment();
      auto expect_extra = chain.expect_extra, more = chain.more;
      release_receive_chain();
      chain.started = chain.discarding = chain.bad = true;
      chain.expect_extra = expect_extra;
      chain.more = more;
    }
  }
  return true;
}

void Netfront::note_extra(const netif::ExtraInfo& extra) {
  auto& chain = m_chain;
  if (extra.type == netif::extra_type_none || extra.type >= netif::extra_type_max) {
    receive_bad_extra.increment();
    chain.bad = true;
  } else if (extra.type == netif::extra_type_gso) {
    if (extra.gso_type != netif::gso_type_tcpv4 || extra.gso_size == 0) {
      receive_bad_gso.increment();
      chain.bad = true;
    }
    chain.gso_size = extra.gso_size;
  }
  // Multicast control and hash entries carry nothing we use.
}

// Gives the chain's buffers back, in the order they were taken (buffer i
// goes back to ring slot i), and starts the next frame's.
void Netfront::release_receive_chain() {
  for (std::size_t i = 0; i < m_chain.slots; ++i)
    recycle_receive(static_cast<std::uint16_t>((m_chain.first + i) % receive_slots));
  m_chain = {};
}

// The whole chain's frame into `frame`; 0 when it is dropped (and counted).
Result<std::size_t> Netfront::copy_receive_chain(std::span<std::byte> frame, FrameOffload& offload) {
  const auto& chain = m_chain;
  if (chain.bad) return 0;
  if ((chain.data_count > 1 || chain.extra_count > 0) && !m_offloads.gro4) {
    receive_split.increment();
    return 0;
  }
  std::size_t length = 0;
  for (std::size_t i = 0; i < chain.data_count; ++i) {
    const auto& response = chain.data[i];
    if (response.id != chain.data_ids[i]) {
      receive_bad_id.increment();
      return 0;
    }
    if (response.status < 0) {
      receive_error.increment();
      return 0;
    }
    if (response.offset + static_cast<std::size_t>(response.status) > page_size) {
      receive_malformed.increment();
      return 0;
    }
    length += static_cast<std::size_t>(response.status);
  }
  if (length > frame.size()) {
    receive_too_long.increment();
    return fail(Errc::no_space, "frame longer than the buffer");
  }
  std::size_t at = 0;
  for (std::size_t i = 0; i < chain.data_count; ++i) {
    const auto& response = chain.data[i];
    auto size = static_cast<std::size_t>(response.status);
    std::memcpy(frame.data() + at, receive_page(chain.data_ids[i]) + response.offset, size);
    at += size;
  }
  FrameOffload about;
  auto flags = chain.data[0].flags;
  if (m_offloads.rx_checksum && (flags & netif::rx_csum_blank)) {
    if (!locate_checksum(frame.first(length), about)) {
      receive_bad_checksum_offload.increment();
      return 0;
    }
    about.checksum_partial = true;
    receive_blank.increment();
    // Once: the evidence, in a guest's log, that the offload is in use.
    if (receive_blank.value() == 1) netfront_log.info("the back end sends frames with blank checksums");
  } else if (m_offloads.rx_checksum && (flags & netif::rx_data_validated)) {
    about.checksum_valid = true;
  }
  about.segment_size = chain.gso_size;
  if (chain.data_count > 1 || chain.gso_size != 0) {
    receive_large.increment();
    if (receive_large.value() == 1)
      netfront_log.info("the back end sends large frames ({} bytes over {} buffers, GSO size {})", length,
                        chain.data_count, chain.gso_size);
  }
  offload = about;
  return length;
}

Result<std::size_t> Netfront::read(std::span<std::byte> frame, FrameOffload& offload) {
  offload = {};
  while (true) {
    if (!gather_receive()) {
      // The back end may need the buffers given back to finish the frame.
      push_receive();
      if (!m_receive.final_check_for_responses()) return 0;
      continue;
    }
    auto copied = copy_receive_chain(frame, offload);
    release_receive_chain();
    if (!copied || *copied != 0) return copied;
  }
}

void Netfront::reclaim_transmit() {
  while (auto response = m_transmit.take_response()) {
    // An extra info entry's response, whose id means nothing.
    if (response->status == netif::response_null) continue;
    if (response->id >= transmit_slots || !m_transmit_in_flight[response->id]) {
      transmit_bad_id.increment();
      continue;
    }
    if (response->status != netif::response_okay) transmit_error.increment();
    m_transmit_in_flight[response->id] = false;
    m_free_transmit[m_free_transmit_count++] = response->id;
  }
}

Result<void> Netfront::write(std::span<const std::byte> frame, const FrameOffload& offload) {
  reclaim_transmit();
  if ((offload.checksum_partial && !m_offloads.tx_checksum) || (offload.segment_size != 0 && !m_offloads.tso4)) {
    transmit_bad_offload.increment();
    return fail(Errc::unsupported, "netfront: offload not negotiated");
  }
  bool segmented = offload.segment_size != 0;
  if (frame.size() > (segmented ? netif::max_frame_size : max_frame)) {
    transmit_too_long.increment();
    return fail(Errc::no_space, "frame longer than the MTU");
  }
  // A page per request (netback takes none that crosses a page), and the GSO entry.
  auto pages = std::max<std::size_t>(1, (frame.size() + page_size - 1) / page_size);
  if (m_free_transmit_count < pages || m_transmit.free_requests() < pages + (segmented ? 1 : 0)) {
    transmit_ring_full.increment();
    return fail(Errc::would_block, "transmit ring full");
  }
  std::uint16_t flags = 0;
  if (offload.checksum_partial) flags |= netif::tx_csum_blank | netif::tx_data_validated;
  if (segmented) flags |= netif::tx_extra_info;
  for (std::size_t i = 0; i < pages; ++i) {
    auto id = m_free_transmit[--m_free_transmit_count];
    auto part = frame.subspan(i * page_size, std::min(page_size, frame.size() - i * page_size));
    std::memcpy(m_memory.transmit_pages.data() + std::size_t{id} * page_size, part.data(), part.size());
    if (i + 1 < pages) flags |= netif::tx_more_data;
    // The first request's size is the whole frame's; the others' their own part's.
    auto size = static_cast<std::uint16_t>(i == 0 ? frame.size() : part.size());
    (void)m_transmit.put_request({.request = {m_transmit_refs[id], 0, flags, id, size}});
    m_transmit_in_flight[id] = true;
    if (i == 0 && segmented)
      (void)m_transmit.put_request(
          {.extra = netif::ExtraInfo{netif::extra_type_gso, 0, offload.segment_size, netif::gso_type_tcpv4}});
    flags = 0;
  }
  if (segmented) transmit_large.increment();
  if (m_transmit.push_requests()) (void)m_services.notify(m_port);
  return {};
}

bool Netfront::input_pending() {
  (void)m_services.take_pending(m_port);
  push_receive();
  return m_receive.final_check_for_responses();
}

void Netfront::format(FormatSink& sink) const {
  format_to(sink, "back end domain {}, MAC {}, MTU {}, {}+{} buffers, event channel {}, offloads {}", m_backend, m_mac,
            mtu_value, receive_slots, transmit_slots, m_port, m_offloads);
}

} // namespace morgana::pvh::xen
