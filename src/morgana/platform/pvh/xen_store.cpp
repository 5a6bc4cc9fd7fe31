#include "morgana/platform/pvh/xen_store.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/platform/pvh/xen_ring.h"

namespace morgana::pvh::xen {
namespace {

log::Source store_log{"xenstore"};

Counter bad_index{"xenstore.bad_index", "ring indices that claimed more bytes than a ring holds"};
Counter bad_reply{"xenstore.bad_reply", "replies with a malformed header, type or payload"};
Counter stale_reply{"xenstore.stale_reply", "replies to an earlier request (one that timed out), skipped"};
Counter watch_event{"xenstore.watch_event", "watch events, skipped: this client sets no watches"};

constexpr std::byte nul{0};

} // namespace

Store::Store(std::span<std::byte> interface, Services& services, std::uint32_t port)
    : m_interface(interface), m_services(services), m_port(port),
      m_request_producer(load_shared<std::uint32_t>(interface.data() + req_prod)),
      m_response_consumer(load_shared<std::uint32_t>(interface.data() + rsp_cons)) {
  auto requests = m_request_producer - load_shared<std::uint32_t>(interface.data() + req_cons);
  auto responses = load_shared<std::uint32_t>(interface.data() + rsp_prod) - m_response_consumer;
  if (requests > ring_size || responses > ring_size)
    (void)break_connection(Error{Errc::malformed, "xenstore: ring indices out of range at start"});
}

std::unexpected<Error> Store::break_connection(Error error) {
  if (!m_broken) store_log.error("connection out of step, no further requests: {}", error);
  m_broken = true;
  return std::unexpected(error);
}

Result<void> Store::wait_for_ring(std::int64_t deadline_ns) {
  if (m_services.now_ns() >= deadline_ns) return fail(Errc::timed_out, "xenstore");
  m_services.wait(m_port, deadline_ns);
  return {};
}

Result<void> Store::send(Bytes bytes, std::int64_t deadline_ns) {
  auto* ring = m_interface.data() + request_ring;
  while (!bytes.empty()) {
    auto consumer = load_shared<std::uint32_t>(m_interface.data() + req_cons, std::memory_order_acquire);
    auto used = m_request_producer - consumer;
    if (used > ring_size) {
      bad_index.increment();
      return break_connection(Error{Errc::malformed, "xenstore: req_cons out of range"});
    }
    if (used == ring_size) {
      TRY(wait_for_ring(deadline_ns));
      continue;
    }
    // The data is written after the consumer index is read (mb).
    full_barrier();
    auto offset = m_request_producer % ring_size;
    auto chunk = std::min({bytes.size(), ring_size - used, ring_size - offset});
    std::memcpy(ring + offset, bytes.data(), chunk);
    m_request_producer += static_cast<std::uint32_t>(chunk);
    // xenstored sees the new producer only after the data (wmb).
    store_shared(m_interface.data() + req_prod, m_request_producer, std::memory_order_release);
    bytes = bytes.subspan(chunk);
    TRY(m_services.notify(m_port));
  }
  return {};
}

Result<void> Store::receive(std::span<std::byte> out, std::int64_t deadline_ns) {
  const auto* ring = m_interface.data() + response_ring;
  while (!out.empty()) {
    // The data is read after the producer index (rmb).
    auto producer = load_shared<std::uint32_t>(m_interface.data() + rsp_prod, std::memory_order_acquire);
    auto waiting = producer - m_response_consumer;
    if (waiting > ring_size) {
      bad_index.increment();
      return break_connection(Error{Errc::malformed, "xenstore: rsp_prod out of range"});
    }
    if (waiting == 0) {
      TRY(wait_for_ring(deadline_ns));
      continue;
    }
    auto offset = m_response_consumer % ring_size;
    auto chunk = std::min({out.size(), std::size_t{waiting}, ring_size - offset});
    std::memcpy(out.data(), ring + offset, chunk);
    // The bytes are copied out before xenstored may overwrite them (mb).
    full_barrier();
    m_response_consumer += static_cast<std::uint32_t>(chunk);
    store_shared(m_interface.data() + rsp_cons, m_response_consumer);
    out = out.subspan(chunk);
    TRY(m_services.notify(m_port));
  }
  return {};
}

Result<Bytes> Store::request(store::Type type, Transaction tx, std::initializer_list<Bytes> parts,
                             std::int64_t deadline_ns) {
  if (m_broken) return fail(Errc::closed, "xenstore connection out of step");
  std::size_t length = 0;
  for (auto part : parts) length += part.size();
  if (length > store::payload_max) return fail(Errc::invalid_argument, "xenstore request longer than 4096 bytes");

  store::Header header{std::to_underlying(type), ++m_last_request_id, tx, static_cast<std::uint32_t>(length)};
  std::byte header_bytes[store::header_size];
  store::write_header(header, header_bytes);
  // A request cut short would leave xenstored reading the next one as its
  // rest; one that never started leaves the stream in step.
  auto sent_before = m_request_producer;
  auto sent = send(header_bytes, deadline_ns);
  for (auto part : parts)
    if (sent) sent = send(part, deadline_ns);
  if (!sent) return m_request_producer == sent_before ? std::unexpected(sent.error()) : break_connection(sent.error());

  while (true) {
    // So does a deadline before the reply starts: the late reply is skipped
    // as stale by the next request.
    auto received_before = m_response_consumer;
    if (auto received = receive(std::span(m_reply).first(store::header_size), deadline_ns); !received)
      return m_response_consumer == received_before ? std::unexpected(received.error())
                                                    : break_connection(received.error());
    auto reply = store::parse_header(std::span(m_reply).first(store::header_size));
    if (!reply) {
      bad_reply.increment();
      return break_connection(reply.error());
    }
    auto payload = std::span(m_reply).subspan(store::header_size, reply->length);
    if (auto received = receive(payload, deadline_ns); !received) return break_connection(received.error());
    if (reply->type == std::to_underlying(store::Type::watch_event)) {
      watch_event.increment();
      continue;
    }
    if (reply->request_id != header.request_id) {
      stale_reply.increment();
      continue;
    }
    auto checked = store::check_reply(type, *reply, payload);
    if (!checked && checked.error() == Errc::malformed) bad_reply.increment();
    return checked;
  }
}

Result<std::string_view> Store::read(std::string_view path, std::int64_t deadline_ns, Transaction tx) {
  auto value = TRY(request(store::Type::read, tx, {as_bytes(path), Bytes(&nul, 1)}, deadline_ns));
  return as_string(value);
}

Result<void> Store::write(std::string_view path, std::string_view value, std::int64_t deadline_ns, Transaction tx) {
  TRY(request(store::Type::write, tx, {as_bytes(path), Bytes(&nul, 1), as_bytes(value)}, deadline_ns));
  return {};
}

Result<store::Names> Store::directory(std::string_view path, std::int64_t deadline_ns, Transaction tx) {
  return store::Names(TRY(request(store::Type::directory, tx, {as_bytes(path), Bytes(&nul, 1)}, deadline_ns)));
}

Result<Store::Transaction> Store::transaction_start(std::int64_t deadline_ns) {
  return store::transaction_id(TRY(request(store::Type::transaction_start, 0, {Bytes(&nul, 1)}, deadline_ns)));
}

Result<void> Store::transaction_end(Transaction tx, bool commit, std::int64_t deadline_ns) {
  TRY(request(store::Type::transaction_end, tx, {as_bytes(commit ? std::string_view("T") : "F"), Bytes(&nul, 1)},
              deadline_ns));
  return {};
}

} // namespace morgana::pvh::xen
