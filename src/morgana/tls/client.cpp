#include "morgana/tls/client.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/ip_address_verifier.h"
#include "morgana/tls/suites.h"

namespace morgana::tls {

Counter client_handshakes{"tls.client.handshakes", "TLS handshakes completed by our client"};
Counter client_resumptions{"tls.client.resumptions", "TLS client handshakes that resumed a session"};

namespace {
log::Source tls_client_log{"tls-client"};
} // namespace

X509Time x509_time(std::int64_t unix_seconds) {
  // x509_minimal.c computes the same from time(): days = t / 86400 + 719528.
  constexpr std::int64_t epoch_days = 719528;
  std::int64_t days = unix_seconds / 86400;
  std::int64_t seconds = unix_seconds % 86400;
  if (seconds < 0) {
    seconds += 86400;
    days -= 1;
  }
  return X509Time{static_cast<std::uint32_t>(days + epoch_days), static_cast<std::uint32_t>(seconds)};
}

class ClientStream final : public Stream {
public:
  explicit ClientStream(ClientConfig config);
  ~ClientStream() override { close_on_destroy(); }

  // Takes the transport and readies the engine; on failure the transport is aborted.
  [[nodiscard]] Result<void> start(std::unique_ptr<net::Stream> transport);

private:
  void on_handshake_done() override;
  void on_handshake_failed(const Error& error) override;

  ClientConfig m_config;
  std::vector<const char*> m_alpn_names;
  br_ssl_client_context m_client{};
  br_x509_minimal_context m_x509{};
  // Set when the server name is an IPv4 address: it checks the certificate's
  // iPAddress names around m_x509.
  std::optional<IpAddressVerifier> m_ip_verifier;
  bool m_offered_session = false;
};

ClientStream::ClientStream(ClientConfig config)
    : Stream(m_client.eng, config.buffer_size), m_config(std::move(config)) {
  br_ssl_client_zero(&m_client);
  configure_engine(m_client.eng);
  if (!m_config.cipher_suites.empty()) {
    br_ssl_engine_set_suites(&m_client.eng, m_config.cipher_suites.data(), m_config.cipher_suites.size());
  }
  br_ssl_engine_add_flags(&m_client.eng, BR_OPT_NO_RENEGOTIATION);

  auto anchors = m_config.trust_anchors->anchors();
  br_x509_minimal_init(&m_x509, &br_sha256_vtable, anchors.data(), anchors.size());
  for (int id : {br_sha1_ID, br_sha224_ID, br_sha256_ID, br_sha384_ID, br_sha512_ID}) {
    br_x509_minimal_set_hash(&m_x509, id, hash_class(id));
  }
  br_x509_minimal_set_rsa(&m_x509, br_rsa_pkcs1_vrfy_get_default());
  br_x509_minimal_set_ecdsa(&m_x509, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
  auto now = std::chrono::duration_cast<std::chrono::seconds>(WallClock::now().time_since_epoch()).count();
  auto time = x509_time(now);
  br_x509_minimal_set_time(&m_x509, time.days, time.seconds);
  if (auto address = net::parse_ipv4(m_config.server_name)) {
    m_ip_verifier.emplace(&m_x509.vtable, *address);
    br_ssl_engine_set_x509(&m_client.eng, m_ip_verifier->engine());
  } else {
    br_ssl_engine_set_x509(&m_client.eng, &m_x509.vtable);
  }

  for (const auto& name : m_config.alpn) m_alpn_names.push_back(name.c_str());
  if (!m_alpn_names.empty()) {
    br_ssl_engine_set_protocol_names(&m_client.eng, m_alpn_names.data(), m_alpn_names.size());
  }
}

Result<void> ClientStream::start(std::unique_ptr<net::Stream> transport) {
  TRY(prepare_engine(std::move(transport)));
  m_offered_session = m_config.session != nullptr && m_config.session->valid;
  if (m_offered_session) br_ssl_engine_set_session_parameters(&m_client.eng, &m_config.session->parameters);
  // No SNI for an address (RFC 6066 §3: literal IP addresses are not
  // permitted), and so no name for br_x509_minimal: m_ip_verifier checks it.
  const char* sni = m_ip_verifier ? nullptr : m_config.server_name.c_str();
  if (!br_ssl_client_reset(&m_client, sni, m_offered_session ? 1 : 0)) {
    return fail_start(bearssl_error(br_ssl_engine_last_error(&m_client.eng)));
  }
  return {};
}

void ClientStream::on_handshake_done() {
  br_ssl_session_parameters now{};
  br_ssl_engine_get_session_parameters(&m_client.eng, &now);
  // A server that resumes echoes the session ID we offered (RFC 5246 §7.4.1.3).
  bool resumed = m_offered_session && now.session_id_len > 0 &&
                 now.session_id_len == m_config.session->parameters.session_id_len &&
                 std::memcmp(now.session_id, m_config.session->parameters.session_id, now.session_id_len) == 0;
  set_resumed(resumed);
  if (m_config.session != nullptr) {
    m_config.session->parameters = now;
    m_config.session->valid = now.session_id_len > 0;
  }
  client_handshakes.increment();
  if (resumed) client_resumptions.increment();
  tls_client_log.debug("client handshake with {} ({}) done: suite {} alpn '{}'{}", remote(), m_config.server_name,
                       Hex{cipher_suite(), 4}, selected_protocol(), resumed ? " (resumed)" : "");
}

void ClientStream::on_handshake_failed(const Error& error) {
  int code = br_ssl_engine_last_error(&m_client.eng);
  if (code != BR_ERR_OK) count_handshake_failure(code);
  // A session that failed is not offered again.
  if (m_config.session != nullptr) m_config.session->valid = false;
  tls_client_log.debug("client handshake with {} ({}) failed: {}", remote(), m_config.server_name, error);
}

Task<Result<std::unique_ptr<Stream>>> connect(std::unique_ptr<net::Stream> transport, ClientConfig config,
                                              Instant deadline) {
  if (!config.trust_anchors) co_return fail(Errc::invalid_argument, "TLS client needs trust anchors");
  if (config.server_name.empty()) co_return fail(Errc::invalid_argument, "TLS client needs a server name");
  // The network stack is IPv4 only; an IPv6 literal must not go out as SNI either (RFC 6066 §3).
  if (config.server_name.find(':') != std::string::npos) {
    co_return fail(Errc::unsupported, "TLS client: IPv6 addresses as server names are not supported");
  }
  for (const auto& name : config.alpn) {
    if (name.empty() || name.size() > 255) co_return fail(Errc::invalid_argument, "ALPN protocol name length");
  }
  for (std::uint16_t suite : config.cipher_suites) {
    if (std::ranges::count(cipher_suites, suite) != 1 || std::ranges::count(config.cipher_suites, suite) != 1) {
      co_return fail(Errc::invalid_argument, "TLS client: cipher suites to offer must be ours, each once");
    }
  }
  auto client = try_make_unique<ClientStream>("TLS: no memory for a client connection", std::move(config));
  if (!client) {
    transport->abort();
    co_return std::unexpected(client.error());
  }
  CO_TRY((*client)->start(std::move(transport)));
  std::unique_ptr<Stream> stream = std::move(*client);
  if (auto done = co_await stream->handshake(deadline); !done) {
    stream->abort();
    co_return std::unexpected(done.error());
  }
  co_return stream;
}

} // namespace morgana::tls
