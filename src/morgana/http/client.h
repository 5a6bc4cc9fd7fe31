#pragma once

// An HTTP/1.1 client (RFC 9110, RFC 9112) over net::Network, with https
// through tls::connect. One request at a time per connection; an idle
// keep-alive connection per (scheme, host, port) is kept for the next request.
//
//   http::Client client(network, {.trust_anchors = anchors, .resolver = &resolver});
//   auto response = co_await client.request({.method = "GET", .url = CO_TRY(http::Url::parse(text))});
//   // response->status, response->headers, response->body
//
// Large bodies (git packfiles) stream through open(): the head first, then
// read() hands out the body piece by piece without collecting it.
//
// Errors: the Result's Error has a static context naming the step or the
// fault ("connect", "malformed status line", "response body larger than
// limit", TLS's own sentence); last_error() holds the full sentence of the
// latest failure, e.g. "connect to 10.0.0.1:443: timed out".

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/counter.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/http/headers.h"
#include "morgana/http/message_parser.h"
#include "morgana/http/status.h"
#include "morgana/http/url.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"
#include "morgana/tls/credentials.h"

namespace morgana::http {

// A fixed address for a host name, used instead of DNS (like curl --resolve).
struct HostAddress {
  std::string host;
  net::Ipv4Address address;
};

struct ClientOptions {
  // TCP connect plus the TLS handshake.
  Duration connect_timeout = std::chrono::seconds(10);
  // The longest the server may go without progress: taking the request,
  // sending the response head, sending each further piece of the body.
  Duration request_timeout = std::chrono::seconds(30);
  // An idle keep-alive connection older than this is closed, not reused.
  Duration idle_timeout = std::chrono::seconds(30);
  // Larger response bodies fail with Errc::limit_reached.
  std::uint64_t max_body_size = 16 * 1024 * 1024;
  // Redirects followed per request; 0: a 3xx is returned as it is.
  unsigned max_redirects = 0;
  // Whether a redirect may lead from https to http.
  bool allow_https_to_http_redirect = false;
  std::string user_agent = "morgana/0.1";
  // What https servers are verified against; null: https is refused.
  std::shared_ptr<const tls::TrustAnchors> trust_anchors;
  // Resolves host names; null: only IP literals, `host_addresses` and
  // localhost (RFC 6761 §6.3) are reachable.
  net::DnsResolver* resolver = nullptr;
  std::vector<HostAddress> host_addresses;
  // Idle keep-alive connections kept in all (the oldest goes first).
  std::size_t max_idle_connections = 8;
};

struct ClientRequest {
  std::string method = "GET";
  Url url;
  // Sent as given after Host and User-Agent (a field of those names replaces
  // ours). Content-Length is computed; Transfer-Encoding is refused.
  Headers headers;
  // Kept alive by the caller until request() finishes (or the reader of
  // open() is gone).
  Bytes body;
  // Bounds the whole exchange, redirects included.
  Instant deadline = far_future;
};

struct ClientResponse {
  Status status = Status::ok;
  std::string reason;
  Version version = Version::http_1_1;
  Headers headers; // owned copies
  std::vector<std::byte> body;
  Url url; // where the response came from, after redirects
  unsigned redirects = 0;

  [[nodiscard]] std::string_view body_text() const { return as_string(body); }
};

class Client;
struct ClientConnection;

// A response whose head has arrived; its body is read piece by piece. The
// connection goes back to the client's pool once the body has been read to
// its end; destroying the reader earlier closes it. The Client must outlive it.
class ResponseReader {
public:
  ResponseReader(ResponseReader&&) noexcept;
  ResponseReader& operator=(ResponseReader&&) noexcept;
  ~ResponseReader();

  // Everything but the body.
  [[nodiscard]] const ClientResponse& head() const { return m_head; }
  [[nodiscard]] Status status() const { return m_head.status; }
  [[nodiscard]] const Headers& headers() const { return m_head.headers; }
  // How the body is delimited (none, Content-Length, chunked, until the close).
  [[nodiscard]] const BodyFraming& framing() const { return m_framing; }

  // The next piece of the body, valid until the next call; empty at its end.
  [[nodiscard]] Task<Result<Bytes>> read();
  [[nodiscard]] bool done() const { return m_done; }

private:
  friend class Client;
  ResponseReader(Client& client, std::unique_ptr<ClientConnection> connection, ClientResponse head, BodyFraming framing,
                 bool reusable, Instant deadline);

  Client* m_client;
  std::unique_ptr<ClientConnection> m_connection;
  ClientResponse m_head;
  BodyFraming m_framing;
  bool m_reusable;
  bool m_done = false;
  Instant m_deadline;
};

class Client {
public:
  explicit Client(net::Network& network, ClientOptions options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Sends the request and reads the whole response (body up to
  // max_body_size), following redirects when max_redirects allows.
  [[nodiscard]] Task<Result<ClientResponse>> request(ClientRequest request);
  // Sends the request and returns once the (final) response head has
  // arrived; the body is the reader's to read.
  [[nodiscard]] Task<Result<ResponseReader>> open(ClientRequest request);

  // The latest failure as a sentence naming what failed; empty before any.
  [[nodiscard]] std::string_view last_error() const { return m_last_error; }
  [[nodiscard]] const ClientOptions& options() const { return m_options; }
  [[nodiscard]] std::size_t idle_connections() const { return m_idle.size(); }
  void close_idle_connections();

private:
  friend class ResponseReader;
  struct Session;
  struct Head;

  [[nodiscard]] Task<Result<ResponseReader>> exchange(std::string_view method, const Url& url, const Headers& headers,
                                                      Bytes body, Instant deadline);
  [[nodiscard]] Task<Result<std::unique_ptr<ClientConnection>>> connect(const Url& url, Instant deadline);
  [[nodiscard]] Task<Result<net::Ipv4Address>> resolve(const Url& url, Instant deadline);
  [[nodiscard]] Task<Result<Head>> send_and_read_head(ClientConnection& connection, std::string_view method,
                                                      const Url& url, const Headers& headers, Bytes body,
                                                      Instant deadline);
  [[nodiscard]] static Head make_head(MessageParser& parser, const Url& url, const Headers& request_headers);
  [[nodiscard]] std::unique_ptr<ClientConnection> take_idle(const Url& url);
  void release(std::unique_ptr<ClientConnection> connection);
  [[nodiscard]] std::shared_ptr<Session> session_for(const Url& url);
  [[nodiscard]] Instant step_deadline(Instant deadline) const;

  // Records `sentence` (formatted) as last_error() and returns `error`.
  template <class... Args>
  std::unexpected<Error> failure(Error error, std::string_view pattern, const Args&... args);

  net::Network& m_network;
  ClientOptions m_options;
  std::vector<std::unique_ptr<ClientConnection>> m_idle;
  std::vector<std::shared_ptr<Session>> m_sessions;
  std::string m_last_error;
};

extern Counter client_requests;
extern Counter client_connections;
extern Counter client_reused;
extern Counter client_retries;
extern Counter client_failures;

} // namespace morgana::http
