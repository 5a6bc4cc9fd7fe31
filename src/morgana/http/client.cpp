#include "morgana/http/client.h"

#include <algorithm>
#include <utility>

#include "morgana/core/ascii.h"
#include "morgana/core/format.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/tls/client.h"

namespace morgana::http {

Counter client_requests{"http.client.requests", "HTTP client requests sent (retries and redirects included)"};
Counter client_connections{"http.client.connections", "HTTP client connections opened"};
Counter client_reused{"http.client.reused", "HTTP client requests sent on a kept-alive connection"};
Counter client_retries{"http.client.retries",
                       "HTTP client requests sent again after a kept-alive connection closed unanswered"};
Counter client_failures{"http.client.failures", "HTTP client requests that failed"};

namespace {

log::Source client_log{"http-client"};

// What send_and_read_head reports for a connection that ended before any
// byte of a response: the request may be retried on a fresh one.
constexpr std::string_view closed_unanswered = "connection closed before answering";
// A redirect's body is read (to keep the connection) up to this size.
constexpr std::uint64_t max_redirect_body = 64 * 1024;
// Bodies up to this size go out in one write with the head.
constexpr std::size_t coalesce_limit = 16 * 1024;
// Larger bodies are written in pieces, each with its own progress deadline.
constexpr std::size_t write_piece = 64 * 1024;
// A Content-Length reserves at most this much up front; the vector grows beyond.
constexpr std::uint64_t max_reserve = 64 * 1024 * 1024;
constexpr std::size_t max_sessions = 16;

// RFC 9110 §9.2.2.
bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS" ||
         method == "TRACE";
}

bool is_redirect(Status status) {
  return status == Status::moved_permanently || status == Status::found || status == Status::see_other ||
         status == Status::temporary_redirect || status == Status::permanent_redirect;
}

bool same_origin(const Url& a, const Url& b) { return a.scheme == b.scheme && a.host == b.host && a.port == b.port; }

// An Error as words for a sentence: its context, else its message.
std::string_view describe(const Error& error) { return error.context.empty() ? error.message() : error.context; }

Error from_parse_error(const ParseError& error) {
  if (error.status == Status::content_too_large) return Error{Errc::limit_reached, "response body larger than limit"};
  if (error.reason.starts_with("connection closed")) return Error{Errc::truncated, error.reason};
  return Error{Errc::malformed, error.reason};
}

bool is_field_value(std::string_view value) {
  return std::ranges::none_of(value, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

Result<void> check_request(const ClientRequest& request) {
  if (!is_token(request.method)) return fail(Errc::invalid_argument, "bad request method");
  for (const auto& field : request.headers) {
    if (!is_token(field.name) || !is_field_value(field.value)) {
      return fail(Errc::invalid_argument, "bad header field in request");
    }
  }
  if (request.headers.contains("Transfer-Encoding")) {
    return fail(Errc::unsupported, "Transfer-Encoding in a request is not supported");
  }
  return {};
}

std::string request_head(std::string_view method, const Url& url, const Headers& headers, std::size_t body_size,
                         std::string_view user_agent) {
  std::string head;
  head.reserve(256);
  auto line = [&](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  head.append(method).append(" ").append(url.target).append(" HTTP/1.1\r\n");
  // RFC 9112 §3.2: Host first, from the target URI's authority.
  if (!headers.contains("Host")) line("Host", url.authority());
  if (!headers.contains("User-Agent") && !user_agent.empty()) line("User-Agent", user_agent);
  for (const auto& field : headers) {
    if (!ascii::equals_ignoring_case(field.name, "Content-Length")) line(field.name, field.value);
  }
  // RFC 9110 §8.6: the body's length; POST and PUT without a body say 0.
  if (body_size > 0 || method == "POST" || method == "PUT" || method == "PATCH") {
    StringBuilder<24> digits;
    format_to(digits, "{}", body_size);
    line("Content-Length", digits.view());
  }
  head.append("\r\n");
  return head;
}

} // namespace

// One connection to an origin, with the parser that holds its input.
struct ClientConnection {
  ClientConnection(const Url& url, std::unique_ptr<net::Stream> stream, MessageParser parser, net::Endpoint remote)
      : scheme(url.scheme), host(url.host), port(url.port), stream(std::move(stream)), parser(std::move(parser)),
        remote(remote) {}

  [[nodiscard]] bool serves(const Url& url) const {
    return scheme == url.scheme && port == url.port && host == url.host;
  }

  Scheme scheme;
  std::string host;
  std::uint16_t port;
  std::unique_ptr<net::Stream> stream;
  MessageParser parser;
  net::Endpoint remote;
  Instant idle_since{};
};

struct Client::Session {
  Scheme scheme;
  std::string host;
  std::uint16_t port;
  tls::ClientSession state;
};

struct Client::Head {
  ClientResponse response;
  BodyFraming framing;
  bool reusable = false;
};

// The final response's head, copied out of the parser's buffer.
Client::Head Client::make_head(MessageParser& parser, const Url& url, const Headers& request_headers) {
  const auto& received = parser.response_head();
  Client::Head head;
  head.response.status = received.status;
  head.response.reason = std::string(received.reason);
  head.response.version = received.version;
  head.response.headers = received.headers;
  head.response.url = url;
  head.framing = parser.framing();
  // RFC 9112 §9.3: HTTP/1.1 persists unless either side said close; a body
  // delimited by the close ends the connection.
  head.reusable = received.version == Version::http_1_1 && !received.headers.has_token("Connection", "close") &&
                  !request_headers.has_token("Connection", "close") &&
                  head.framing.kind != BodyFraming::Kind::until_close;
  return head;
}

template <class... Args>
std::unexpected<Error> Client::failure(Error error, std::string_view pattern, const Args&... args) {
  StringBuilder<512> text;
  format_to(text, pattern, args...);
  m_last_error = std::string(text.view());
  client_log.debug("{}", text.view());
  return std::unexpected(error);
}

Client::Client(net::Network& network, ClientOptions options) : m_network(network), m_options(std::move(options)) {}

Client::~Client() = default;

void Client::close_idle_connections() { m_idle.clear(); }

Instant Client::step_deadline(Instant deadline) const {
  return std::min(deadline, MonotonicClock::now() + m_options.request_timeout);
}

std::unique_ptr<ClientConnection> Client::take_idle(const Url& url) {
  auto now = MonotonicClock::now();
  std::erase_if(m_idle, [&](const auto& connection) { return now - connection->idle_since > m_options.idle_timeout; });
  auto found = std::ranges::find_if(m_idle, [&](const auto& connection) { return connection->serves(url); });
  if (found == m_idle.end()) return nullptr;
  auto connection = std::move(*found);
  m_idle.erase(found);
  return connection;
}

void Client::release(std::unique_ptr<ClientConnection> connection) {
  if (m_options.max_idle_connections == 0) return;
  connection->idle_since = MonotonicClock::now();
  // One idle connection per origin: the newer one stays.
  std::erase_if(m_idle, [&](const auto& idle) {
    return idle->scheme == connection->scheme && idle->port == connection->port && idle->host == connection->host;
  });
  if (m_idle.size() >= m_options.max_idle_connections) m_idle.erase(m_idle.begin());
  m_idle.push_back(std::move(connection));
}

std::shared_ptr<Client::Session> Client::session_for(const Url& url) {
  auto found = std::ranges::find_if(m_sessions, [&](const auto& session) {
    return session->scheme == url.scheme && session->port == url.port && session->host == url.host;
  });
  if (found != m_sessions.end()) return *found;
  if (m_sessions.size() >= max_sessions) m_sessions.erase(m_sessions.begin());
  m_sessions.push_back(std::make_shared<Session>(Session{url.scheme, url.host, url.port, {}}));
  return m_sessions.back();
}

Task<Result<net::Ipv4Address>> Client::resolve(const Url& url, Instant deadline) {
  if (auto address = url.address()) co_return *address;
  for (const auto& entry : m_options.host_addresses) {
    if (ascii::equals_ignoring_case(entry.host, url.host)) co_return entry.address;
  }
  // RFC 6761 §6.3: localhost names are the loopback address.
  if (url.host == "localhost" || url.host.ends_with(".localhost"))
    co_return net::Ipv4Address::from_octets(127, 0, 0, 1);
  if (!m_options.resolver) {
    co_return failure(Error{Errc::unsupported, "host name without a DNS resolver"},
                      "resolve {}: no DNS resolver (only IP addresses work)", url.host);
  }
  auto addresses = co_await m_options.resolver->resolve(url.host, deadline);
  if (!addresses) co_return failure(addresses.error(), "resolve {}: {}", url.host, describe(addresses.error()));
  if (addresses->empty()) co_return failure(Error{Errc::not_found, "no address"}, "resolve {}: no address", url.host);
  co_return addresses->front();
}

Task<Result<std::unique_ptr<ClientConnection>>> Client::connect(const Url& url, Instant deadline) {
  if (url.scheme == Scheme::https && !m_options.trust_anchors) {
    co_return failure(Error{Errc::unsupported, "https without trust anchors"},
                      "{}: https needs trust anchors, and none are configured", url.authority());
  }
  auto connect_deadline = std::min(deadline, MonotonicClock::now() + m_options.connect_timeout);
  auto address = CO_TRY(co_await resolve(url, connect_deadline));
  net::Endpoint remote{address, url.port};
  auto stream = co_await m_network.tcp_connect(remote, connect_deadline);
  if (!stream) {
    auto why = stream.error() == Errc::closed      ? std::string_view("connection refused")
               : stream.error() == Errc::timed_out ? std::string_view("timed out")
                                                   : describe(stream.error());
    co_return failure(Error{stream.error().code, "connect"}, "connect to {}: {}", remote, why);
  }
  client_connections.increment();
  std::unique_ptr<net::Stream> transport = std::move(*stream);
  if (url.scheme == Scheme::https) {
    auto session = session_for(url);
    tls::ClientConfig config;
    config.trust_anchors = m_options.trust_anchors;
    config.server_name = url.host;
    config.alpn = {"http/1.1"};
    config.session = &session->state;
    auto secured = co_await tls::connect(std::move(transport), std::move(config), connect_deadline);
    if (!secured) {
      co_return failure(secured.error(), "TLS with {} ({}): {}", url.authority(), remote, describe(secured.error()));
    }
    transport = std::move(*secured);
  }
  ParserLimits limits;
  limits.max_body = m_options.max_body_size;
  auto parser = MessageParser::create(MessageParser::Kind::response, limits);
  if (!parser) co_return failure(parser.error(), "{}: no memory for the response parser", url.authority());
  auto connection = try_make_unique<ClientConnection>("http client connection", url, std::move(transport),
                                                      std::move(*parser), remote);
  if (!connection) co_return failure(connection.error(), "{}: no memory for the connection", url.authority());
  co_return std::move(*connection);
}

Task<Result<Client::Head>> Client::send_and_read_head(ClientConnection& connection, std::string_view method,
                                                      const Url& url, const Headers& headers, Bytes body,
                                                      Instant deadline) {
  auto head = request_head(method, url, headers, body.size(), m_options.user_agent);
  if (body.size() <= coalesce_limit) {
    head.append(as_string(body));
    body = {};
  }
  client_requests.increment();
  auto& stream = *connection.stream;
  auto written = co_await stream.write(as_bytes(head), step_deadline(deadline));
  while (written && !body.empty()) {
    auto piece = body.first(std::min(write_piece, body.size()));
    written = co_await stream.write(piece, step_deadline(deadline));
    body = body.subspan(piece.size());
  }
  if (!written) {
    if (written.error() == Errc::closed) co_return fail(Errc::closed, closed_unanswered);
    co_return failure(Error{written.error().code, "sending the request"}, "sending the request to {}: {}",
                      url.authority(), describe(written.error()));
  }
  auto& parser = connection.parser;
  parser.set_request_method(method);
  for (;;) {
    auto event = parser.next();
    if (!event) {
      auto error = from_parse_error(event.error());
      co_return failure(error, "response from {}: {}", url.authority(), error.context);
    }
    using Type = MessageParser::Event::Type;
    if (event->type == Type::closed) co_return fail(Errc::closed, closed_unanswered);
    if (event->type == Type::need_more) {
      auto count = co_await stream.read(parser.free_space(), step_deadline(deadline));
      if (!count) {
        if (count.error() == Errc::closed && !parser.message_started()) co_return fail(Errc::closed, closed_unanswered);
        co_return failure(Error{count.error().code, "waiting for the response"}, "waiting for the response from {}: {}",
                          url.authority(), describe(count.error()));
      }
      if (*count == 0) parser.end_of_input();
      else parser.commit(*count);
      continue;
    }
    if (event->type != Type::head) continue;
    auto status = parser.response_head().status;
    if (status == Status{101}) {
      co_return failure(Error{Errc::unsupported, "unexpected 101 Switching Protocols"},
                        "response from {}: 101 Switching Protocols to a request that asked for no upgrade",
                        url.authority());
    }
    // RFC 9110 §15.2: interim responses come before the final one.
    if (code(status) >= 200) co_return make_head(parser, url, headers);
  }
}

Task<Result<ResponseReader>> Client::exchange(std::string_view method, const Url& url, const Headers& headers,
                                              Bytes body, Instant deadline) {
  for (int attempt = 0;; ++attempt) {
    auto connection = attempt == 0 ? take_idle(url) : nullptr;
    bool reused = connection != nullptr;
    if (reused) client_reused.increment();
    else connection = CO_TRY(co_await connect(url, deadline));
    auto head = co_await send_and_read_head(*connection, method, url, headers, body, deadline);
    if (head) {
      co_return ResponseReader(*this, std::move(connection), std::move(head->response), head->framing, head->reusable,
                               deadline);
    }
    if (head.error().context != closed_unanswered) co_return std::unexpected(head.error());
    // RFC 9112 §9.3.1: a kept-alive connection the server closed before
    // answering; an idempotent request may go again on a fresh one.
    if (reused && is_idempotent(method)) {
      client_retries.increment();
      continue;
    }
    co_return failure(head.error(), "{} {}: connection closed before answering", method, url);
  }
}

Task<Result<ResponseReader>> Client::open(ClientRequest request) {
  if (auto checked = check_request(request); !checked) {
    client_failures.increment();
    co_return failure(checked.error(), "{} {}: {}", request.method, request.url, checked.error().context);
  }
  std::string method = request.method;
  Url url = request.url;
  Headers headers = std::move(request.headers);
  Bytes body = request.body;
  for (unsigned redirects = 0;; ++redirects) {
    auto reader = co_await exchange(method, url, headers, body, request.deadline);
    if (!reader) {
      client_failures.increment();
      co_return std::unexpected(reader.error());
    }
    reader->m_head.redirects = redirects;
    auto status = reader->status();
    auto location = reader->headers().get("Location");
    if (m_options.max_redirects == 0 || !is_redirect(status) || !location) co_return std::move(*reader);
    if (redirects == m_options.max_redirects) {
      client_failures.increment();
      co_return failure(Error{Errc::limit_reached, "too many redirects"}, "{} {}: more than {} redirects", method,
                        request.url, m_options.max_redirects);
    }
    auto next = url.resolve(*location);
    if (!next) {
      client_failures.increment();
      co_return failure(next.error(), "redirect from {} to a bad Location '{}': {}", url, *location,
                        describe(next.error()));
    }
    if (url.scheme == Scheme::https && next->scheme == Scheme::http && !m_options.allow_https_to_http_redirect) {
      client_failures.increment();
      co_return failure(Error{Errc::unsupported, "redirect from https to http refused"},
                        "redirect from {} to {} refused: https to http", url, *next);
    }
    // A short body is read so that the connection can serve the next request.
    std::uint64_t discarded = 0;
    while (!reader->done() && reader->framing().kind != BodyFraming::Kind::until_close &&
           discarded <= max_redirect_body) {
      auto piece = co_await reader->read();
      if (!piece) break;
      discarded += piece->size();
    }
    // RFC 9110 §15.4.4: 303 continues with GET; §15.4.2, §15.4.3: so do 301
    // and 302 after a POST, as user agents have always done. 307 and 308 keep both.
    if ((status == Status::see_other && method != "HEAD") ||
        ((status == Status::moved_permanently || status == Status::found) && method == "POST")) {
      method = "GET";
      body = {};
      headers.remove("Content-Type");
    }
    // Credentials stay with their origin.
    if (!same_origin(url, *next)) {
      headers.remove("Authorization");
      headers.remove("Cookie");
      headers.remove("Host");
    }
    url = std::move(*next);
  }
}

Task<Result<ClientResponse>> Client::request(ClientRequest request) {
  auto reader = CO_TRY(co_await open(std::move(request)));
  ClientResponse response = reader.head();
  if (reader.framing().kind == BodyFraming::Kind::length) {
    response.body.reserve(static_cast<std::size_t>(std::min(reader.framing().length, max_reserve)));
  }
  for (;;) {
    auto piece = co_await reader.read();
    if (!piece) {
      client_failures.increment();
      co_return std::unexpected(piece.error());
    }
    if (piece->empty()) break;
    response.body.insert(response.body.end(), piece->begin(), piece->end());
  }
  co_return response;
}

ResponseReader::ResponseReader(Client& client, std::unique_ptr<ClientConnection> connection, ClientResponse head,
                               BodyFraming framing, bool reusable, Instant deadline)
    : m_client(&client), m_connection(std::move(connection)), m_head(std::move(head)), m_framing(framing),
      m_reusable(reusable), m_deadline(deadline) {}

ResponseReader::ResponseReader(ResponseReader&&) noexcept = default;
ResponseReader& ResponseReader::operator=(ResponseReader&&) noexcept = default;
ResponseReader::~ResponseReader() = default;

Task<Result<Bytes>> ResponseReader::read() {
  if (m_done) co_return Bytes{};
  if (!m_connection) co_return fail(Errc::closed, "response body already failed");
  auto& parser = m_connection->parser;
  for (;;) {
    auto event = parser.next();
    if (!event) {
      m_connection.reset();
      auto error = from_parse_error(event.error());
      co_return m_client->failure(error, "response body from {}: {}", m_head.url.authority(), error.context);
    }
    using Type = MessageParser::Event::Type;
    if (event->type == Type::body) co_return event->data;
    if (event->type == Type::end) {
      m_done = true;
      // Bytes beyond the message answer nothing we asked: the connection is not trusted again.
      if (m_reusable && !parser.message_started()) m_client->release(std::move(m_connection));
      else m_connection.reset();
      co_return Bytes{};
    }
    if (event->type != Type::need_more) {
      m_connection.reset();
      co_return m_client->failure(Error{Errc::malformed, "unexpected message in the response body"},
                                  "response body from {}: unexpected message", m_head.url.authority());
    }
    auto count = co_await m_connection->stream->read(parser.free_space(), m_client->step_deadline(m_deadline));
    if (!count) {
      m_connection.reset();
      co_return m_client->failure(Error{count.error().code, "reading the response body"},
                                  "reading the response body from {}: {}", m_head.url.authority(),
                                  describe(count.error()));
    }
    if (*count == 0) parser.end_of_input();
    else parser.commit(*count);
  }
}

} // namespace morgana::http
