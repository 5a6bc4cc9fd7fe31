#pragma once

// The TLS client: connects over a transport stream, verifies the server's
// chain against trust anchors (br_x509_minimal, at the WallClock's time) and
// the host name (or IPv4 address), and returns the stream once the handshake
// is done.

#include <memory>
#include <string>
#include <vector>

#include "morgana/core/counter.h"
#include "morgana/net/network.h"
#include "morgana/tls/credentials.h"
#include "morgana/tls/stream.h"

namespace morgana::tls {

// A session to resume on the next connection to the same server (RFC 5246
// §7.3); connect() fills it after each handshake.
struct ClientSession {
  br_ssl_session_parameters parameters{};
  bool valid = false;
};

struct ClientConfig {
  std::shared_ptr<const TrustAnchors> trust_anchors;
  // A host name: sent as SNI (RFC 6066 §3) and matched against the
  // certificate's dNSName entries (RFC 6125). An IPv4 address ("10.0.2.2"):
  // no SNI, and the certificate needs a subjectAltName iPAddress equal to it
  // (RFC 2818 §3.1); a Common Name or dNSName holding the address does not
  // count. IPv6 addresses are refused (Errc::unsupported).
  std::string server_name;
  // ALPN protocols to offer (RFC 7301), e.g. {"http/1.1"}.
  std::vector<std::string> alpn;
  // The cipher suites to offer, in order of preference: some of
  // cipher_suites (suites.h). Empty offers all of them.
  std::vector<std::uint16_t> cipher_suites;
  // Resumed when valid and updated after the handshake; may be null. Must
  // outlive connect().
  ClientSession* session = nullptr;
  std::size_t buffer_size = BR_SSL_BUFSIZE_BIDI;
};

// Errors carry BearSSL's reason as context (errors.h): e.g.
// Errc::invalid_argument "certificate expired or not yet valid
// (BR_ERR_X509_EXPIRED)", "certificate chain is not trusted: no trust anchor
// signs it (BR_ERR_X509_NOT_TRUSTED)", "certificate is for another host name
// (BR_ERR_X509_BAD_SERVER_NAME)", "certificate not valid for the IP address
// connected to (err_x509_bad_ip_address)"; Errc::timed_out at the deadline;
// Errc::no_memory when the engine and its buffer (~40 KiB) cannot be had.
// The transport is aborted on failure.
[[nodiscard]] Task<Result<std::unique_ptr<Stream>>> connect(std::unique_ptr<net::Stream> transport, ClientConfig config,
                                                            Instant deadline = far_future);

// BearSSL's X.509 time for a Unix time: days since 0000-01-01 (proleptic
// Gregorian, 1970-01-01 is day 719528) and seconds in the day.
struct X509Time {
  std::uint32_t days;
  std::uint32_t seconds;
};
[[nodiscard]] X509Time x509_time(std::int64_t unix_seconds);

extern Counter client_handshakes;
extern Counter client_resumptions;

} // namespace morgana::tls
