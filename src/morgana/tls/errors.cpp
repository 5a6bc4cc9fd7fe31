#include "morgana/tls/errors.h"

#include <bearssl.h>

namespace morgana::tls {
namespace {

struct Entry {
  int code;
  std::string_view name;
  std::string_view message;
  Errc errc;
  Counter failures;
};

// NOLINTBEGIN(bugprone-macro-parentheses): the arguments are string literals pasted into others.
#define MORGANA_TLS_ERROR(code, suffix, errc, text)                                                                    \
  Entry {                                                                                                              \
    code, #code, text " (" #code ")", Errc::errc, { "tls.handshake_failed." suffix, text }                             \
  }
// NOLINTEND(bugprone-macro-parentheses)

// Every code BearSSL 0.6 defines, in its headers' order, then our own (errors.h).
Entry entries[] = {
    MORGANA_TLS_ERROR(BR_ERR_BAD_PARAM, "bad_param", invalid_argument, "caller-provided parameter is wrong"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_STATE, "bad_state", invalid_argument, "engine used in the wrong state"),
    MORGANA_TLS_ERROR(BR_ERR_UNSUPPORTED_VERSION, "unsupported_version", unsupported,
                      "peer offers only protocol versions we refuse (TLS 1.2 only)"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_VERSION, "bad_version", malformed, "record version differs from the negotiated one"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_LENGTH, "bad_length", malformed, "record with a wrong length"),
    MORGANA_TLS_ERROR(BR_ERR_TOO_LARGE, "too_large", malformed, "record larger than the protocol allows"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_MAC, "bad_mac", bad_checksum, "record failed authentication (bad MAC)"),
    MORGANA_TLS_ERROR(BR_ERR_NO_RANDOM, "no_random", no_entropy, "TLS needs entropy and the engine had none"),
    MORGANA_TLS_ERROR(BR_ERR_UNKNOWN_TYPE, "unknown_type", malformed, "record of an unknown content type"),
    MORGANA_TLS_ERROR(BR_ERR_UNEXPECTED, "unexpected", malformed, "unexpected message from the peer"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_CCS, "bad_ccs", malformed, "malformed ChangeCipherSpec"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_ALERT, "bad_alert", malformed, "malformed alert"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_HANDSHAKE, "bad_handshake", malformed, "malformed handshake message"),
    MORGANA_TLS_ERROR(BR_ERR_OVERSIZED_ID, "oversized_id", malformed, "session ID longer than 32 bytes"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_CIPHER_SUITE, "bad_cipher_suite", unsupported,
                      "no cipher suite in common (we take only ECDHE with AES-GCM or ChaCha20-Poly1305)"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_COMPRESSION, "bad_compression", unsupported, "no compression method in common"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_FRAGLEN, "bad_fraglen", malformed, "bad maximum fragment length extension"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_SECRENEG, "bad_secreneg", malformed, "secure renegotiation failed"),
    MORGANA_TLS_ERROR(BR_ERR_EXTRA_EXTENSION, "extra_extension", malformed, "peer sent an extension it may not send"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_SNI, "bad_sni", malformed, "malformed server name indication"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_HELLO_DONE, "bad_hello_done", malformed, "malformed ServerHelloDone"),
    MORGANA_TLS_ERROR(BR_ERR_LIMIT_EXCEEDED, "limit_exceeded", malformed, "peer exceeded an engine limit"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_FINISHED, "bad_finished", malformed, "Finished message does not verify"),
    MORGANA_TLS_ERROR(BR_ERR_RESUME_MISMATCH, "resume_mismatch", malformed,
                      "resumed session with another version or suite"),
    MORGANA_TLS_ERROR(BR_ERR_INVALID_ALGORITHM, "invalid_algorithm", unsupported, "unsupported or invalid algorithm"),
    MORGANA_TLS_ERROR(BR_ERR_BAD_SIGNATURE, "bad_signature", invalid_argument,
                      "ServerKeyExchange signature does not verify"),
    MORGANA_TLS_ERROR(BR_ERR_WRONG_KEY_USAGE, "wrong_key_usage", invalid_argument,
                      "certificate key may not be used for this"),
    MORGANA_TLS_ERROR(BR_ERR_NO_CLIENT_AUTH, "no_client_auth", invalid_argument, "client certificate missing"),
    MORGANA_TLS_ERROR(BR_ERR_IO, "io", io_error, "transport I/O failed"),
    MORGANA_TLS_ERROR(BR_ERR_X509_INVALID_VALUE, "x509_invalid_value", malformed, "certificate: invalid value"),
    MORGANA_TLS_ERROR(BR_ERR_X509_TRUNCATED, "x509_truncated", malformed, "certificate: truncated"),
    MORGANA_TLS_ERROR(BR_ERR_X509_EMPTY_CHAIN, "x509_empty_chain", invalid_argument, "certificate: empty chain"),
    MORGANA_TLS_ERROR(BR_ERR_X509_INNER_TRUNC, "x509_inner_trunc", malformed, "certificate: inner element truncated"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_TAG_CLASS, "x509_bad_tag_class", malformed, "certificate: bad DER tag class"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_TAG_VALUE, "x509_bad_tag_value", malformed, "certificate: bad DER tag"),
    MORGANA_TLS_ERROR(BR_ERR_X509_INDEFINITE_LENGTH, "x509_indefinite_length", malformed,
                      "certificate: indefinite DER length"),
    MORGANA_TLS_ERROR(BR_ERR_X509_EXTRA_ELEMENT, "x509_extra_element", malformed, "certificate: extra element"),
    MORGANA_TLS_ERROR(BR_ERR_X509_UNEXPECTED, "x509_unexpected", malformed, "certificate: unexpected element"),
    MORGANA_TLS_ERROR(BR_ERR_X509_NOT_CONSTRUCTED, "x509_not_constructed", malformed,
                      "certificate: element should be constructed"),
    MORGANA_TLS_ERROR(BR_ERR_X509_NOT_PRIMITIVE, "x509_not_primitive", malformed,
                      "certificate: element should be primitive"),
    MORGANA_TLS_ERROR(BR_ERR_X509_PARTIAL_BYTE, "x509_partial_byte", malformed, "certificate: partial byte"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_BOOLEAN, "x509_bad_boolean", malformed, "certificate: bad boolean"),
    MORGANA_TLS_ERROR(BR_ERR_X509_OVERFLOW, "x509_overflow", malformed, "certificate: value overflow"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_DN, "x509_bad_dn", malformed, "certificate: bad distinguished name"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_TIME, "x509_bad_time", malformed, "certificate: bad validity time"),
    MORGANA_TLS_ERROR(BR_ERR_X509_UNSUPPORTED, "x509_unsupported", unsupported,
                      "certificate: unsupported feature (critical extension or algorithm)"),
    MORGANA_TLS_ERROR(BR_ERR_X509_LIMIT_EXCEEDED, "x509_limit_exceeded", malformed,
                      "certificate: exceeds a decoder limit"),
    MORGANA_TLS_ERROR(BR_ERR_X509_WRONG_KEY_TYPE, "x509_wrong_key_type", invalid_argument,
                      "certificate: key type does not match the cipher suite"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_SIGNATURE, "x509_bad_signature", invalid_argument,
                      "certificate signature does not verify"),
    MORGANA_TLS_ERROR(BR_ERR_X509_TIME_UNKNOWN, "x509_time_unknown", invalid_argument,
                      "certificate validity cannot be checked: the time is unknown"),
    MORGANA_TLS_ERROR(BR_ERR_X509_EXPIRED, "x509_expired", invalid_argument, "certificate expired or not yet valid"),
    MORGANA_TLS_ERROR(BR_ERR_X509_DN_MISMATCH, "x509_dn_mismatch", invalid_argument,
                      "certificate chain: issuer and subject names do not match"),
    MORGANA_TLS_ERROR(BR_ERR_X509_BAD_SERVER_NAME, "x509_bad_server_name", invalid_argument,
                      "certificate is for another host name"),
    MORGANA_TLS_ERROR(BR_ERR_X509_CRITICAL_EXTENSION, "x509_critical_extension", unsupported,
                      "certificate has an unsupported critical extension"),
    MORGANA_TLS_ERROR(BR_ERR_X509_NOT_CA, "x509_not_ca", invalid_argument, "certificate chain: an issuer is not a CA"),
    MORGANA_TLS_ERROR(BR_ERR_X509_FORBIDDEN_KEY_USAGE, "x509_forbidden_key_usage", invalid_argument,
                      "certificate key usage forbids this use"),
    MORGANA_TLS_ERROR(BR_ERR_X509_WEAK_PUBLIC_KEY, "x509_weak_public_key", invalid_argument,
                      "certificate public key is too weak"),
    MORGANA_TLS_ERROR(BR_ERR_X509_NOT_TRUSTED, "x509_not_trusted", invalid_argument,
                      "certificate chain is not trusted: no trust anchor signs it"),
    MORGANA_TLS_ERROR(err_x509_bad_ip_address, "x509_bad_ip_address", invalid_argument,
                      "certificate not valid for the IP address connected to"),
    MORGANA_TLS_ERROR(err_x509_bad_subject_alt_name, "x509_bad_subject_alt_name", malformed,
                      "certificate: malformed subjectAltName"),
    MORGANA_TLS_ERROR(err_x509_no_memory, "x509_no_memory", no_memory,
                      "no memory to keep the certificate for its check"),
};

#undef MORGANA_TLS_ERROR

Counter other_failures{"tls.handshake_failed.other", "a BearSSL error code without a name here"};

struct Alert {
  int code;
  std::string_view received;
  std::string_view sent;
  Errc errc; // when we sent it; a received alert is Errc::closed
  Counter received_count;
  Counter sent_count;
};

// RFC 5246 §7.2 and RFC 7301 §3.2 (no_application_protocol). BearSSL reports
// most refusals as the alert it sent (BR_ERR_SEND_FATAL_ALERT + alert).
#define MORGANA_TLS_ALERT(code, name, errc)                                                                            \
  Alert {                                                                                                              \
    code, "peer sent fatal alert " name, "sent fatal alert " name, Errc::errc,                                         \
        {"tls.handshake_failed.alert_received." name, "the peer sent this fatal alert"},                               \
        {"tls.handshake_failed.alert_sent." name, "we sent this fatal alert"}                                          \
  }
Alert alerts[] = {
    MORGANA_TLS_ALERT(0, "close_notify", closed),
    MORGANA_TLS_ALERT(10, "unexpected_message", malformed),
    MORGANA_TLS_ALERT(20, "bad_record_mac", bad_checksum),
    MORGANA_TLS_ALERT(22, "record_overflow", malformed),
    MORGANA_TLS_ALERT(40, "handshake_failure", unsupported),
    MORGANA_TLS_ALERT(42, "bad_certificate", invalid_argument),
    MORGANA_TLS_ALERT(43, "unsupported_certificate", invalid_argument),
    MORGANA_TLS_ALERT(44, "certificate_revoked", invalid_argument),
    MORGANA_TLS_ALERT(45, "certificate_expired", invalid_argument),
    MORGANA_TLS_ALERT(46, "certificate_unknown", invalid_argument),
    MORGANA_TLS_ALERT(47, "illegal_parameter", malformed),
    MORGANA_TLS_ALERT(48, "unknown_ca", invalid_argument),
    MORGANA_TLS_ALERT(49, "access_denied", invalid_argument),
    MORGANA_TLS_ALERT(50, "decode_error", malformed),
    MORGANA_TLS_ALERT(51, "decrypt_error", malformed),
    MORGANA_TLS_ALERT(70, "protocol_version", unsupported),
    MORGANA_TLS_ALERT(71, "insufficient_security", unsupported),
    MORGANA_TLS_ALERT(80, "internal_error", io_error),
    MORGANA_TLS_ALERT(86, "inappropriate_fallback", unsupported),
    MORGANA_TLS_ALERT(90, "user_canceled", closed),
    MORGANA_TLS_ALERT(100, "no_renegotiation", unsupported),
    MORGANA_TLS_ALERT(110, "unsupported_extension", unsupported),
    MORGANA_TLS_ALERT(112, "unrecognized_name", invalid_argument),
    MORGANA_TLS_ALERT(120, "no_application_protocol", unsupported),
};
#undef MORGANA_TLS_ALERT

Entry* find(int code) {
  for (auto& entry : entries) {
    if (entry.code == code) return &entry;
  }
  return nullptr;
}

Alert* find_alert(int alert) {
  for (auto& entry : alerts) {
    if (entry.code == alert) return &entry;
  }
  return nullptr;
}

bool is_received_alert(int code) { return code >= BR_ERR_RECV_FATAL_ALERT && code < BR_ERR_SEND_FATAL_ALERT; }
bool is_sent_alert(int code) { return code >= BR_ERR_SEND_FATAL_ALERT && code < BR_ERR_SEND_FATAL_ALERT + 256; }

Counter& failure_counter(int code) {
  if (is_received_alert(code)) {
    if (auto* alert = find_alert(code - BR_ERR_RECV_FATAL_ALERT)) return alert->received_count;
  } else if (is_sent_alert(code)) {
    if (auto* alert = find_alert(code - BR_ERR_SEND_FATAL_ALERT)) return alert->sent_count;
  } else if (auto* entry = find(code)) {
    return entry->failures;
  }
  return other_failures;
}

} // namespace

std::string_view bearssl_error_name(int code) {
  if (code == BR_ERR_OK) return "BR_ERR_OK";
  if (is_received_alert(code)) return "BR_ERR_RECV_FATAL_ALERT";
  if (is_sent_alert(code)) return "BR_ERR_SEND_FATAL_ALERT";
  if (auto* entry = find(code)) return entry->name;
  return "BR_ERR_UNKNOWN";
}

std::string_view bearssl_error_message(int code) {
  if (code == BR_ERR_OK) return "no error";
  if (is_received_alert(code)) {
    if (auto* alert = find_alert(code - BR_ERR_RECV_FATAL_ALERT)) return alert->received;
    return "peer sent an unknown fatal alert";
  }
  if (is_sent_alert(code)) {
    if (auto* alert = find_alert(code - BR_ERR_SEND_FATAL_ALERT)) return alert->sent;
    return "sent an unknown fatal alert";
  }
  if (auto* entry = find(code)) return entry->message;
  return "unknown BearSSL error";
}

Errc bearssl_errc(int code) {
  if (is_received_alert(code)) return Errc::closed;
  if (is_sent_alert(code)) {
    if (auto* alert = find_alert(code - BR_ERR_SEND_FATAL_ALERT)) return alert->errc;
    return Errc::io_error;
  }
  if (auto* entry = find(code)) return entry->errc;
  return Errc::io_error;
}

Error bearssl_error(int code) { return Error{bearssl_errc(code), bearssl_error_message(code)}; }

void count_handshake_failure(int code) { failure_counter(code).increment(); }

const Counter& handshake_failure_counter(int code) { return failure_counter(code); }

} // namespace morgana::tls
