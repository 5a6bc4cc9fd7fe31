#include "morgana/tls/server.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/random.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/fast_ec.h"
#include "morgana/tls/suites.h"

namespace morgana::tls {

Counter server_handshakes{"tls.server.handshakes", "TLS handshakes completed by our server"};
Counter server_resumptions{"tls.server.resumptions", "TLS server handshakes that resumed a cached session"};
Counter server_no_memory{"tls.server.no_memory",
                         "TLS connections closed at once: no memory for their engine and its buffer"};

namespace {

log::Source tls_log{"tls"};

// Free memory a new connection's engine must leave for everything else.
constexpr std::size_t memory_reserve = 64 * 1024;

// The signature hash for the ServerKeyExchange (RFC 5246 §7.4.1.4.1): the
// client's bits are `id` for RSA and `8 + id` for ECDSA.
int choose_hash(std::uint32_t client_hashes, unsigned key_type) {
  unsigned shift = key_type == BR_KEYTYPE_EC ? 8 : 0;
  for (int id : {br_sha256_ID, br_sha384_ID, br_sha512_ID, br_sha224_ID, br_sha1_ID}) {
    if (client_hashes & (std::uint32_t{1} << (shift + id))) return id;
  }
  return 0;
}

// Stops hashing the transcript with the functions the rest of a full
// handshake never reads. The engine hashes every handshake byte with each
// function it has (br_multihash_update: SHA-1, SHA-224, SHA-256, SHA-384 and
// SHA-512 here, about 0.3M instructions per handshake). Once the policy has
// chosen, BearSSL 0.6's server reads the transcript only for the Finished
// messages, with the suite's PRF hash (TLS 1.2 only: compute-Finished in
// ssl_hs_common.t0); do_sign hashes the ServerKeyExchange parameters itself.
// The other functions would matter only for a client's CertificateVerify,
// which needs a CertificateRequest that this server never sends. The
// ClientHello, whose signature algorithms the engine matched against all our
// hash functions, is already hashed by all of them; the next handshake gets a
// new engine.
void keep_only_transcript_hash(br_ssl_engine_context& engine, int prf_hash) {
  for (int id = br_md5_ID; id <= br_sha512_ID; ++id) {
    if (id != prf_hash) br_ssl_engine_set_hash(&engine, id, nullptr);
  }
}

} // namespace

// One server connection: the BearSSL server context and its policy, which
// picks credentials by SNI once the ClientHello is in.
class ServerStream final : public Stream {
public:
  explicit ServerStream(ServerContext& context);
  ~ServerStream() override { close_on_destroy(); }

  // Takes the transport and readies the engine; on failure the transport is aborted.
  [[nodiscard]] Result<void> start(std::unique_ptr<net::Stream> transport);

private:
  // BearSSL's policy object: a vtable pointer first, then us.
  struct Policy {
    const br_ssl_server_policy_class* vtable;
    ServerStream* stream;
  };
  static const br_ssl_server_policy_class policy_class;
  static int choose(const br_ssl_server_policy_class** policy, const br_ssl_server_context* server,
                    br_ssl_server_choices* choices);
  static std::uint32_t do_keyx(const br_ssl_server_policy_class** policy, unsigned char* data, std::size_t* length);
  static std::size_t do_sign(const br_ssl_server_policy_class** policy, unsigned algo_id, unsigned char* data,
                             std::size_t data_length, std::size_t length);

  void on_handshake_done() override;
  void on_handshake_failed(const Error& error) override;

  ServerContext& m_context;
  br_ssl_server_context m_server{};
  Policy m_policy{&policy_class, this};
  const Credentials* m_chosen = nullptr; // set by choose(), which only full handshakes call
};

const br_ssl_server_policy_class ServerStream::policy_class = {
    sizeof(Policy),
    ServerStream::choose,
    ServerStream::do_keyx,
    ServerStream::do_sign,
};

ServerStream::ServerStream(ServerContext& context)
    : Stream(m_server.eng, context.m_config.buffer_size), m_context(context) {
  br_ssl_server_zero(&m_server);
  configure_engine(m_server.eng);
  // Each suite BearSSL knows costs a scan per suite the ClientHello lists
  // (scan-suite in ssl_hs_common.t0): suites no key of ours can sign for are
  // left out, as the policy would refuse them anyway.
  br_ssl_engine_set_suites(&m_server.eng, context.m_suites.data(), context.m_suites.size());
  br_ssl_engine_add_flags(&m_server.eng, BR_OPT_NO_RENEGOTIATION);
  br_ssl_server_set_policy(&m_server, &m_policy.vtable);
  if (!context.m_session_store.empty()) br_ssl_server_set_cache(&m_server, &context.m_session_cache.vtable);
  if (!context.m_alpn_names.empty()) {
    br_ssl_engine_set_protocol_names(&m_server.eng, context.m_alpn_names.data(), context.m_alpn_names.size());
  }
}

Result<void> ServerStream::start(std::unique_ptr<net::Stream> transport) {
  TRY(prepare_engine(std::move(transport)));
  if (!br_ssl_server_reset(&m_server)) return fail_start(bearssl_error(br_ssl_engine_last_error(&m_server.eng)));
  return {};
}

int ServerStream::choose(const br_ssl_server_policy_class** policy, const br_ssl_server_context* server,
                         br_ssl_server_choices* choices) {
  ServerStream& self = *reinterpret_cast<Policy*>(policy)->stream;
  std::size_t suite_count = 0;
  const br_suite_translated* suites = br_ssl_server_get_client_suites(server, &suite_count);
  std::string_view name = br_ssl_engine_get_server_name(&server->eng);
  const auto& all = self.m_context.m_config.credentials;

  const Credentials* chosen = nullptr;
  const br_suite_translated* suite = nullptr;
  auto consider = [&](const Credentials& credentials) {
    suite = choose_server_suite(std::span(suites, suite_count), credentials.key().type(),
                                self.m_context.m_hardware_aes_gcm);
    if (suite != nullptr) chosen = &credentials;
    return suite != nullptr;
  };
  if (!name.empty()) {
    for (const auto& credentials : all) {
      if (credentials.matches(name) && consider(credentials)) break;
    }
  }
  if (chosen == nullptr) {
    for (const auto& credentials : all) {
      if (consider(credentials)) break;
    }
  }
  if (chosen == nullptr) return 0;
  int hash = choose_hash(br_ssl_server_get_client_hashes(server), chosen->key().type());
  if (hash == 0) return 0;
  choices->cipher_suite = (*suite)[0];
  // TLS 1.2's SignatureAndHashAlgorithm (RFC 5246 §7.4.1.4.1: RSA 1, ECDSA 3):
  // BearSSL then hands do_sign the parameters unhashed, so that the
  // transcript need not keep the signature hash (bearssl_ssl.h, algo_id).
  choices->algo_id = static_cast<unsigned>(hash) << 8 | (chosen->key().type() == BR_KEYTYPE_EC ? 3u : 1u);
  choices->chain = chosen->chain().certificates().data();
  choices->chain_len = chosen->chain().size();
  self.m_chosen = chosen;
  // The PRF's id is that of its hash function (BR_SSLPRF_SHA256 == br_sha256_ID).
  keep_only_transcript_hash(self.m_server.eng, (*suite)[1] & 0xF);
  return 1;
}

std::uint32_t ServerStream::do_keyx(const br_ssl_server_policy_class**, unsigned char*, std::size_t*) {
  return 0; // only ECDHE suites are enabled: the key signs, never decrypts
}

std::size_t ServerStream::do_sign(const br_ssl_server_policy_class** policy, unsigned algo_id, unsigned char* data,
                                  std::size_t data_length, std::size_t length) {
  const ServerStream& self = *reinterpret_cast<Policy*>(policy)->stream;
  if (self.m_chosen == nullptr) return 0;
  const PrivateKey& key = self.m_chosen->key();
  int hash_id = static_cast<int>(algo_id >> 8);
  const br_hash_class* hash = hash_class(hash_id);
  if (hash == nullptr) return 0;
  br_hash_compat_context context;
  hash->init(&context.vtable);
  hash->update(&context.vtable, data, data_length);
  unsigned char hash_value[64];
  hash->out(&context.vtable, hash_value);
  std::size_t hash_length = (hash->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
  if (key.type() == BR_KEYTYPE_EC) {
    // The largest DER-encoded ECDSA signature (P-521) is 139 bytes.
    if (length < 139) return 0;
    return fast_ecdsa_sign_asn1(&fast_ec(), hash, hash_value, key.ec(), data);
  }
  std::size_t signature_length = (key.rsa()->n_bitlen + 7) / 8;
  if (length < signature_length) return 0;
  const unsigned char* oid = hash_oid(hash_id);
  if (oid == nullptr) return 0;
  return br_rsa_pkcs1_sign_get_default()(oid, hash_value, hash_length, key.rsa(), data) ? signature_length : 0;
}

void ServerStream::on_handshake_done() {
  // BearSSL calls the policy's choose() only for full handshakes.
  set_resumed(m_chosen == nullptr);
  server_handshakes.increment();
  if (resumed()) server_resumptions.increment();
  tls_log.debug("server handshake with {} done: suite {} alpn '{}' sni '{}'{}", remote(), Hex{cipher_suite(), 4},
                selected_protocol(), server_name(), resumed() ? " (resumed)" : "");
}

void ServerStream::on_handshake_failed(const Error& error) {
  int code = br_ssl_engine_last_error(&m_server.eng);
  if (code != BR_ERR_OK) count_handshake_failure(code);
  tls_log.debug("server handshake with {} failed: {}", remote(), error);
}

ServerContext::ServerContext(ServerConfig config)
    : m_config(std::move(config)), m_hardware_aes_gcm(hardware_aes_gcm()) {
  for (std::uint16_t suite : cipher_suites) {
    if (std::ranges::any_of(m_config.credentials, [&](const Credentials& credentials) {
          return credentials.key().type() == suite_key_type(suite);
        }))
      m_suites.push_back(suite);
  }
  for (const auto& name : m_config.alpn) m_alpn_names.push_back(name.c_str());
  if (m_config.session_cache_entries > 0) {
    m_session_store.resize(m_config.session_cache_entries * 100);
    br_ssl_session_cache_lru_init(&m_session_cache, m_session_store.data(), m_session_store.size());
  }
}

Result<std::unique_ptr<ServerContext>> ServerContext::create(ServerConfig config) {
  if (config.credentials.empty()) return fail(Errc::invalid_argument, "TLS server needs at least one certificate");
  if (config.buffer_size < 512) return fail(Errc::invalid_argument, "TLS buffer too small");
  for (const auto& name : config.alpn) {
    if (name.empty() || name.size() > 255) return fail(Errc::invalid_argument, "ALPN protocol name length");
  }
  std::byte probe[32];
  if (!random::fill(probe)) return fail(Errc::no_entropy, "TLS needs entropy: the platform has no entropy source");
  return try_make_unique<ServerContext>("TLS server context", std::move(config));
}

void ServerContext::refused_for_memory(net::Endpoint remote) {
  server_no_memory.increment();
  ++m_unreported_refusals;
  if (!m_refusal_report.try_now()) return;
  tls_log.warn("closed a TLS connection from {}: no memory for its engine; {} closed since the last report, {} in all",
               remote, m_unreported_refusals, server_no_memory.value());
  m_unreported_refusals = 0;
}

Result<std::unique_ptr<Stream>> accept(std::unique_ptr<net::Stream> transport, ServerContext& context) {
  net::Endpoint remote = transport->remote();
  // Refused also when the engine fits but would eat into the reserve that the
  // small allocations of connections already served rely on (docs/DESIGN-memory.md).
  Result<std::unique_ptr<ServerStream>> stream = fail(Errc::no_memory, "TLS: too little free memory for a connection");
  if (memory_stats().free >= sizeof(ServerStream) + context.config().buffer_size + memory_reserve)
    stream = try_make_unique<ServerStream>("TLS: no memory for a server connection", context);
  if (!stream) {
    transport->abort();
    context.refused_for_memory(remote);
    return std::unexpected(stream.error());
  }
  if (auto started = (*stream)->start(std::move(transport)); !started) {
    // start() aborted the transport.
    if (started.error() == Errc::no_memory) context.refused_for_memory(remote);
    return std::unexpected(started.error());
  }
  return std::unique_ptr<Stream>(std::move(*stream));
}

Task<Result<std::unique_ptr<net::Stream>>> Listener::accept(Instant deadline) {
  for (;;) {
    auto transport = CO_TRY(co_await m_tcp->accept(deadline));
    // A connection that cannot start (no memory, no entropy) is closed and counted; the listener goes on.
    auto stream = tls::accept(std::move(transport), m_context);
    if (stream) co_return std::unique_ptr<net::Stream>(std::move(*stream));
  }
}

} // namespace morgana::tls
