#pragma once

// The HTTP/1.1 server (RFC 9110, RFC 9112): accepts connections from a
// net::Listener (plain TCP, or TLS streams from the TLS layer) and runs one
// coroutine per connection, reading requests, calling the handler, and
// sending responses in order (keep-alive and pipelining).
//
// Defences, each counted (http.*): a connection limit beyond which new
// connections are closed at once; a deadline for the whole header section
// (from the accept for the first request, which also covers a TLS
// handshake, and from its first byte for later ones), so a slowloris client
// holds a slot at most header_timeout; an idle timeout between requests; a
// deadline for the whole body; and keep-alive refused once the server is
// three-quarters full, so idle connections give way to new ones.

#include <cstddef>
#include <memory>
#include <string>

#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/http/message_parser.h"
#include "morgana/http/request.h"
#include "morgana/http/response.h"
#include "morgana/net/network.h"

namespace morgana::http {

struct ServerOptions {
  std::size_t max_connections = 1024;
  Duration header_timeout = std::chrono::seconds(10); // the whole header section
  Duration idle_timeout = std::chrono::seconds(30);   // waiting for the next request
  Duration body_timeout = std::chrono::seconds(60);   // the whole request body
  Duration send_timeout = std::chrono::seconds(30);   // each 64 KiB of a response
  Duration linger = std::chrono::seconds(2);          // draining input before a close
  ParserLimits limits;                                // request line, header section, fields, body
  std::string server_name = "Morgana";                // the Server field; none when empty
  bool secure = false;                                // connections are TLS (Request::secure)
};

class Server {
public:
  explicit Server(Handler handler, ServerOptions options = {});

  // Accepts connections until the listener fails; returns its error. The
  // Server must outlive this call; connections keep what they need alive.
  [[nodiscard]] Task<Result<void>> serve(net::Listener& listener);

  // Serves one accepted connection on a new coroutine, or closes it at once
  // when max_connections are open.
  void accept(std::unique_ptr<net::Stream> stream);

  [[nodiscard]] std::size_t active_connections() const;
  [[nodiscard]] const ServerOptions& options() const;

  struct State;

private:
  std::shared_ptr<State> m_state;
};

} // namespace morgana::http
