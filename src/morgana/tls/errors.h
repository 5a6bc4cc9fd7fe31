#pragma once

// BearSSL's error codes (bearssl_ssl.h, bearssl_x509.h) as Morgana errors:
// a name, a sentence for the Error's context, and a counter of handshake
// failures per code.

#include <string_view>

#include "morgana/core/counter.h"
#include "morgana/core/result.h"

namespace morgana::tls {

// Failures of Morgana's own certificate checks, which an X.509 engine returns
// from end_chain as it would BearSSL's codes (BearSSL's own are below 64 and
// from 256 up). The functions below know them like BearSSL's.
//
// The certificate has no subjectAltName iPAddress for the address connected to.
inline constexpr int err_x509_bad_ip_address = 128;
// Its subjectAltName (or the DER leading to it) does not parse.
inline constexpr int err_x509_bad_subject_alt_name = 129;
// No memory to keep the certificate while it is checked.
inline constexpr int err_x509_no_memory = 130;

// "BR_ERR_X509_EXPIRED"; "BR_ERR_RECV_FATAL_ALERT" for 256+alert, and so on.
[[nodiscard]] std::string_view bearssl_error_name(int code);
// A static sentence saying what failed, e.g. "certificate expired
// (BR_ERR_X509_EXPIRED)". Fatal alerts name the alert.
[[nodiscard]] std::string_view bearssl_error_message(int code);
// The Errc a BearSSL code maps to: malformed for bad encodings, bad_checksum
// for a failed record MAC, unsupported for versions and suites, invalid_argument
// for certificates that do not verify, closed for fatal alerts from the peer,
// no_entropy for BR_ERR_NO_RANDOM; an alert we sent maps by its meaning
// (protocol_version, handshake_failure: unsupported; decode_error: malformed).
[[nodiscard]] Errc bearssl_errc(int code);
// The Error for a failed engine: the Errc above and the message as context.
[[nodiscard]] Error bearssl_error(int code);

// Counts one failed handshake under "tls.handshake_failed.<name>": the code
// without BR_ERR_ in lower case ("x509_expired"), "alert_sent.<alert>" and
// "alert_received.<alert>" for fatal alerts, "other" for unknown codes.
void count_handshake_failure(int code);
// The counter of handshake failures for `code` (tests read it).
[[nodiscard]] const Counter& handshake_failure_counter(int code);

} // namespace morgana::tls
