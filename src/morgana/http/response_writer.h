#pragma once

// Sends a Response (RFC 9112 §4, §6): the status line and header section
// together with the body, which goes to the stream by reference
// (net::Stream::write_shared: Morgana's TCP sends it from its owner's memory,
// a TLS stream encrypts it from there) in slices, each with its own deadline
// so a slow but live reader keeps going.

#include <cstdint>
#include <string>
#include <string_view>

#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/http/message_parser.h"
#include "morgana/http/response.h"
#include "morgana/net/network.h"

namespace morgana::http {

struct ResponseContext {
  Version version = Version::http_1_1; // of the request
  bool head_request = false;           // headers only, with the Content-Length a GET would get
  bool close = false;                  // the connection closes after this response
  std::string_view server;             // the Server field; none when empty
  WallClock::time_point date{};        // the Date field (RFC 9110 §6.6.1)
  Duration send_timeout = std::chrono::seconds(30);
};

// Whether sending `response` ends the connection: asked for, or a body of
// unknown length in HTTP/1.0 (delimited by the close).
[[nodiscard]] bool response_closes(const Response& response, const ResponseContext& context);

// The status line and header section. Errc::malformed when a handler's
// field has a bad name or a value with CR, LF or NUL (response splitting).
[[nodiscard]] Result<std::string> serialize_response_head(const Response& response, const ResponseContext& context);

// Writes the response; returns the bytes of body sent (not counting chunk framing).
// When it ends the connection (response_closes), its last write also shuts the
// stream down (net::Stream::write_last), except after a body that the close
// delimits (HTTP/1.0): the caller shuts that down.
[[nodiscard]] Task<Result<std::uint64_t>> write_response(net::Stream& stream, Response& response,
                                                         ResponseContext context);
// The same with the head serialize_response_head made for it (a server that
// checked the head already does not serialise it twice).
[[nodiscard]] Task<Result<std::uint64_t>> write_response(net::Stream& stream, std::string head, Response& response,
                                                         ResponseContext context);

} // namespace morgana::http
