#pragma once

// A request as a handler sees it, and the handler type.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/task.h"
#include "morgana/http/headers.h"
#include "morgana/http/message_parser.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::http {

struct Response;

// Views (method, target, query, host, header fields) point into the
// connection's buffer and stay valid until the handler's response is sent.
struct Request {
  std::string_view method;
  std::string_view target; // as received
  // Percent-decoded, dot segments removed, starting with '/' (see target.h);
  // "*" for OPTIONS *.
  std::string path;
  std::string_view query; // raw, without the '?'
  std::string_view host;  // the Host field, or an absolute-form target's authority
  Version version = Version::http_1_1;
  Headers headers;
  std::vector<std::byte> body; // de-chunked
  net::Endpoint remote;
  bool secure = false; // arrived over TLS (ServerOptions::secure)

  [[nodiscard]] std::string_view body_text() const { return as_string(body); }
};

// Handlers are coroutines: `Task<Response> handle(Request& request)`.
using Handler = std::function<Task<Response>(Request&)>;

} // namespace morgana::http
