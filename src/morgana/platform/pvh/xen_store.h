#pragma once

// A xenstore client over the shared page of struct xenstore_domain_interface
// (xen/include/public/io/xs_wire.h): a 1 KiB request ring and a 1 KiB
// response ring of bytes, each with a consumer and a producer index, and an
// event channel to xenstored. One request at a time, each with a deadline:
// enough for the handshakes of devices at boot. Watches are not used; a
// caller that waits for a value polls it.
//
// A reply that breaks the format, an index that claims more bytes than the
// ring holds, or a deadline that passes in the middle of a message leave the
// byte stream out of step; the client then refuses every later request
// (Errc::closed) rather than read a reply into the wrong request.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/xen_services.h"
#include "morgana/platform/pvh/xen_store_message.h"

namespace morgana::pvh::xen {

class Store {
public:
  using Transaction = std::uint32_t; // 0: none (XBT_NIL)

  static constexpr std::size_t ring_size = 1024;
  // Offsets in struct xenstore_domain_interface.
  static constexpr std::size_t request_ring = 0, response_ring = 1024, req_cons = 2048, req_prod = 2052,
                               rsp_cons = 2056, rsp_prod = 2060;

  // Over the interface page (HVM_PARAM_STORE_PFN) and its event channel
  // (HVM_PARAM_STORE_EVTCHN), both set up by the domain builder.
  Store(std::span<std::byte> interface, Services& services, std::uint32_t port);

  // The value at `path` (relative paths are below /local/domain/<our id>),
  // valid until the next request.
  [[nodiscard]] Result<std::string_view> read(std::string_view path, std::int64_t deadline_ns, Transaction tx = 0);
  [[nodiscard]] Result<void> write(std::string_view path, std::string_view value, std::int64_t deadline_ns,
                                   Transaction tx = 0);
  // The names below `path`, valid until the next request.
  [[nodiscard]] Result<store::Names> directory(std::string_view path, std::int64_t deadline_ns, Transaction tx = 0);
  [[nodiscard]] Result<Transaction> transaction_start(std::int64_t deadline_ns);
  // Commits (or aborts) the transaction; Errc::would_block (EAGAIN) when a
  // commit conflicted with another writer: the caller starts over.
  [[nodiscard]] Result<void> transaction_end(Transaction tx, bool commit, std::int64_t deadline_ns);

  [[nodiscard]] bool broken() const { return m_broken; }
  [[nodiscard]] std::uint32_t port() const { return m_port; }

private:
  [[nodiscard]] Result<Bytes> request(store::Type type, Transaction tx, std::initializer_list<Bytes> parts,
                                      std::int64_t deadline_ns);
  [[nodiscard]] Result<void> send(Bytes bytes, std::int64_t deadline_ns);
  [[nodiscard]] Result<void> receive(std::span<std::byte> out, std::int64_t deadline_ns);
  [[nodiscard]] Result<void> wait_for_ring(std::int64_t deadline_ns);
  std::unexpected<Error> break_connection(Error error);

  std::span<std::byte> m_interface;
  Services& m_services;
  std::uint32_t m_port;
  std::uint32_t m_request_producer;  // our copy of req_prod
  std::uint32_t m_response_consumer; // our copy of rsp_cons
  std::uint32_t m_last_request_id = 0;
  bool m_broken = false;
  std::byte m_reply[store::header_size + store::payload_max];
};

} // namespace morgana::pvh::xen
