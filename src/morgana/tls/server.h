#pragma once

// The TLS server: a ServerContext built once from configuration, and
// connections that it serves (accept, or a Listener wrapping a TCP one).
//
// Only TLS 1.2 (RFC 5246) with ECDHE key exchange and AEAD suites
// (AES-GCM, RFC 5288/5289; ChaCha20-Poly1305, RFC 7905): ECDHE_ECDSA for EC
// keys, ECDHE_RSA for RSA keys. BearSSL picks its fastest safe
// implementations at run time: AES-NI and PCLMULQDQ for AES-GCM where the CPU
// has them (br_aes_x86ni_ctr_get_vtable, br_ghash_pclmul_get, else the
// constant-time ct64 code), SSE2 ChaCha20 and the 64-bit Poly1305. The suite
// is the client's first choice, but ChaCha20-Poly1305 when the CPU lacks that
// AES-GCM hardware and the client offers it (choose_server_suite). ECDHE
// (X25519 preferred, then P-256) and the server's ECDSA P-256 signature go
// through nettle's x86_64 code (fast_ec.h), the rest through BearSSL's m31
// and i31: details in suites.cpp.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "morgana/core/counter.h"
#include "morgana/core/memory.h"
#include "morgana/core/rate_limiter.h"
#include "morgana/net/network.h"
#include "morgana/tls/credentials.h"
#include "morgana/tls/stream.h"

namespace morgana::tls {

struct ServerConfig {
  // Chosen per connection by SNI (RFC 6066 §3): the first whose names match
  // and whose key type suits a suite the client offers; otherwise the first
  // that suits the client. At least one.
  std::vector<Credentials> credentials;
  // ALPN protocols in our order of preference (RFC 7301), e.g. {"http/1.1"}.
  // A client offering none of them still connects, without a protocol.
  std::vector<std::string> alpn;
  // Sessions remembered for resumption (RFC 5246 §7.3), 100 bytes each; 0: none.
  std::size_t session_cache_entries = 1024;
  // Per connection; see stream.h for what the sizes mean.
  std::size_t buffer_size = BR_SSL_BUFSIZE_BIDI;
};

class ServerContext {
public:
  // Errc::invalid_argument without credentials; Errc::no_entropy ("TLS needs
  // entropy") where the platform has none.
  [[nodiscard]] static Result<std::unique_ptr<ServerContext>> create(ServerConfig config);
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  [[nodiscard]] const ServerConfig& config() const { return m_config; }

  // A connection closed for want of memory: counted (tls.server.no_memory) and
  // logged at warning level, at most once a second, with how many since.
  void refused_for_memory(net::Endpoint remote);

private:
  explicit ServerContext(ServerConfig config);
  friend class ServerStream;
  friend struct morgana::NothrowNew;

  ServerConfig m_config;
  // Our suites that one of the credentials' keys can sign for.
  std::vector<std::uint16_t> m_suites;
  bool m_hardware_aes_gcm;               // decides between AES-GCM and ChaCha20 (choose_server_suite)
  std::vector<const char*> m_alpn_names; // into m_config.alpn
  std::vector<unsigned char> m_session_store;
  br_ssl_session_cache_lru m_session_cache{};
  RateLimiter m_refusal_report{std::chrono::seconds(1)};
  std::uint64_t m_unreported_refusals = 0;
};

// The TLS server side of `transport`. The handshake happens inside the first
// read() or write() (so an accept loop never waits for a slow client); the
// caller's deadlines bound it. `context` must outlive the stream. A
// connection that cannot start is aborted: Errc::no_memory (the engine and its
// buffer, ~37 KiB; counted, see refused_for_memory), Errc::no_entropy.
[[nodiscard]] Result<std::unique_ptr<Stream>> accept(std::unique_ptr<net::Stream> transport, ServerContext& context);

// A TCP listener whose connections speak TLS. Connections that cannot start
// (see accept above) are closed and accepting goes on.
class Listener final : public net::Listener {
public:
  // `context` must outlive the listener and its connections.
  Listener(std::unique_ptr<net::Listener> tcp, ServerContext& context) : m_tcp(std::move(tcp)), m_context(context) {}

  [[nodiscard]] std::uint16_t port() const override { return m_tcp->port(); }
  [[nodiscard]] Task<Result<std::unique_ptr<net::Stream>>> accept(Instant deadline = far_future) override;

private:
  std::unique_ptr<net::Listener> m_tcp;
  ServerContext& m_context;
};

// Counters: "tls.server.handshakes", "tls.server.resumptions",
// "tls.server.no_memory" (failures are counted per BearSSL code under
// "tls.handshake_failed.*", see errors.h).
extern Counter server_handshakes;
extern Counter server_resumptions;
extern Counter server_no_memory;

} // namespace morgana::tls
