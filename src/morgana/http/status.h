#pragma once

// Status codes (RFC 9110 §15) and the error a parser reports: the status the
// server answers with and a short reason for the log.

#include <cstdint>
#include <expected>
#include <string_view>
#include <utility>

#include "morgana/core/result.h"

namespace morgana::http {

// Any three-digit code is a valid Status (Status{418}); these have names.
enum class Status : std::uint16_t {
  continue_ = 100,
  ok = 200,
  created = 201,
  accepted = 202,
  no_content = 204,
  partial_content = 206,
  moved_permanently = 301,
  found = 302,
  see_other = 303,
  not_modified = 304,
  temporary_redirect = 307,
  permanent_redirect = 308,
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  request_timeout = 408,
  length_required = 411,
  precondition_failed = 412,
  content_too_large = 413,
  uri_too_long = 414,
  range_not_satisfiable = 416,
  expectation_failed = 417,
  too_many_requests = 429,
  request_header_fields_too_large = 431,
  internal_server_error = 500,
  not_implemented = 501,
  bad_gateway = 502,
  service_unavailable = 503,
  http_version_not_supported = 505,
};

[[nodiscard]] constexpr std::uint16_t code(Status status) { return static_cast<std::uint16_t>(status); }

// The reason phrase for known codes; "" for others (RFC 9112 §4 allows an empty one).
[[nodiscard]] std::string_view reason_phrase(Status status);

// 1xx, 204 and 304 never carry content (RFC 9110 §6.4.1).
[[nodiscard]] constexpr bool status_allows_content(Status status) {
  return code(status) >= 200 && status != Status::no_content && status != Status::not_modified;
}

// Why a message was rejected: the status to answer with and a reason for the log.
struct ParseError {
  Status status;
  std::string_view reason;
};

template <class T>
using ParseResult = std::expected<T, ParseError>;

[[nodiscard]] constexpr std::unexpected<ParseError> reject(Status status, std::string_view reason) {
  return std::unexpected<ParseError>(ParseError{status, reason});
}

} // namespace morgana::http

// TRY works on ParseResult too.
namespace morgana::detail {
template <class T>
T take(std::expected<T, http::ParseError>&& result) {
  return std::move(*result);
}
inline void take(std::expected<void, http::ParseError>&&) {}
} // namespace morgana::detail
