#pragma once

// The request-target (RFC 9112 §3.2) and the path a handler sees.
//
// Paths are percent-decoded and their dot segments removed (RFC 3986 §5.2.4)
// so that "/a/../b" and "/%2e%2e/b" cannot reach above the root. Decoding
// rejects "%00" (a NUL has no place in a key or file name) and "%2F" (an
// encoded '/' would merge two segments into one key component, and stores
// key by '/'-separated paths), and malformed escapes.

#include <string>
#include <string_view>

#include "morgana/core/result.h"
#include "morgana/http/status.h"

namespace morgana::http {

enum class TargetForm : std::uint8_t { origin, absolute, asterisk };

struct RequestTarget {
  TargetForm form = TargetForm::origin;
  std::string_view authority; // absolute-form only: "example.com:8080"
  std::string_view path;      // raw, starts with '/' ("*" for asterisk-form)
  std::string_view query;     // raw, without the '?'; empty when absent
};

// Splits a request-target: origin-form, absolute-form (http and https), or
// "*" for OPTIONS. Authority-form (CONNECT) is not served: 400.
[[nodiscard]] ParseResult<RequestTarget> parse_request_target(std::string_view target, std::string_view method);

// Whether `host` is a valid Host field value: uri-host [ ":" port ] (RFC 9110 §7.2).
[[nodiscard]] bool is_valid_host(std::string_view host);

// Percent-decodes `text` (RFC 3986 §2.1); Errc::malformed for a bad escape
// or an encoded NUL; with `plus_as_space`, '+' decodes to ' ' (HTML forms).
[[nodiscard]] Result<std::string> percent_decode(std::string_view text, bool plus_as_space = false);

// `path` with every byte that may not appear literally in a path (RFC 3986
// §3.3: not unreserved, a sub-delim, ':', '@' or '/') percent-encoded, for
// links and Location fields.
[[nodiscard]] std::string percent_encode_path(std::string_view path);

// The decoded path with dot segments removed; always starts with '/'.
// Errc::malformed for bad escapes, "%00" and "%2F" (see above), or a path
// not starting with '/'.
[[nodiscard]] Result<std::string> normalize_path(std::string_view raw_path);

} // namespace morgana::http
