#include "morgana/http/server.h"

#include <algorithm>
#include <vector>

#include "morgana/core/ascii.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/rate_limiter.h"
#include "morgana/http/response_writer.h"

namespace morgana::http {

namespace {

log::Source http_log{"http"};

Counter connections_accepted{"http.connections", "HTTP connections accepted"};
Counter connection_limit{"http.connection_limit", "HTTP connections closed at once: max_connections reached"};
Counter requests_served{"http.requests", "HTTP requests answered by a handler"};
Counter bad_request{"http.bad_request", "HTTP requests rejected as malformed (400)"};
Counter uri_too_long{"http.uri_too_long", "HTTP requests whose request line was too long (414)"};
Counter fields_too_large{"http.header_fields_too_large",
                         "HTTP requests whose header section was too large or had too many fields (431)"};
Counter content_too_large{"http.content_too_large", "HTTP requests whose body was above the limit (413)"};
Counter not_implemented{"http.not_implemented", "HTTP requests with a transfer coding we do not implement (501)"};
Counter version_not_supported{"http.version_not_supported", "HTTP requests in a version other than 1.0 and 1.1 (505)"};
Counter expectation_failed{"http.expectation_failed", "HTTP requests with an Expect other than 100-continue (417)"};
Counter other_reject{"http.rejected_other", "HTTP requests rejected with another status"};
Counter header_timeout{"http.header_timeout", "HTTP connections closed: header section not complete in time"};
Counter idle_timeout{"http.idle_timeout", "HTTP keep-alive connections closed after waiting idle"};
Counter body_timeout{"http.body_timeout", "HTTP connections closed: request body not complete in time"};
Counter read_error{"http.read_error", "HTTP connections that failed or were reset while reading a request"};
Counter write_error{"http.write_error", "HTTP responses that could not be sent (reset, timeout)"};
Counter bad_response{"http.bad_response", "HTTP responses replaced by 500: a handler set an unsafe field"};
Counter keepalive_shed{"http.keepalive_shed", "HTTP connections closed after a response because the server is busy"};
Counter no_memory{"http.no_memory", "HTTP connections closed at once: too little free memory to serve them"};
Counter body_no_memory{"http.body_no_memory", "HTTP requests refused (503): too little free memory for their body"};

// Free memory below which new connections are closed at once: a connection's
// parser buffer, coroutine frames, a response in flight and a TLS engine
// (33 KiB) with room to spare. Frames, headers and response strings are small
// allocations that stop the image when they fail (docs/DESIGN-memory.md): this
// reserve is what keeps them from failing.
constexpr std::size_t accept_memory_reserve = 256 * 1024;

// Whether a request body may take `bytes` more and leave the reserve free.
bool body_fits(std::size_t bytes) { return memory_stats().free >= accept_memory_reserve + bytes; }

// Whether `body` may grow by `more` bytes: a vector that reallocates holds its
// old and its new storage at once.
bool body_fits(const std::vector<std::byte>& body, std::size_t more) {
  std::size_t size = body.size() + more;
  if (size <= body.capacity()) return true;
  return body_fits(body.size() + std::max(size, 2 * body.capacity()));
}

void count_reject(Status status) {
  switch (status) {
  case Status::bad_request: bad_request.increment(); break;
  case Status::uri_too_long: uri_too_long.increment(); break;
  case Status::request_header_fields_too_large: fields_too_large.increment(); break;
  case Status::content_too_large: content_too_large.increment(); break;
  case Status::not_implemented: not_implemented.increment(); break;
  case Status::http_version_not_supported: version_not_supported.increment(); break;
  case Status::expectation_failed: expectation_failed.increment(); break;
  case Status::service_unavailable: body_no_memory.increment(); break;
  default: other_reject.increment(); break;
  }
}

} // namespace

struct Server::State {
  Handler handler;
  ServerOptions options;
  std::size_t active = 0;
  RateLimiter no_memory_warned{std::chrono::seconds(1)};
};

namespace {

// One of max_connections, held by a connection's coroutine from the accept
// (also when the coroutine is destroyed before it starts).
class Slot {
public:
  explicit Slot(std::shared_ptr<Server::State> state) : m_state(std::move(state)) { ++m_state->active; }
  Slot(Slot&& other) noexcept = default;
  Slot& operator=(Slot&&) = delete;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (m_state) --m_state->active;
  }
  [[nodiscard]] Server::State& state() const { return *m_state; }

private:
  std::shared_ptr<Server::State> m_state;
};

class Connection {
public:
  Connection(Server::State& state, net::Stream& stream, MessageParser parser)
      : m_state(state), m_options(state.options), m_stream(stream), m_parser(std::move(parser)) {}

  Task<void> run();

private:
  enum class Outcome : std::uint8_t { request, closed, failed };

  Task<Outcome> read_request(Request& request, bool first);
  [[nodiscard]] ParseResult<void> take_head(Request& request);
  Task<void> reject(ParseError error);
  Task<void> close_gracefully();
  [[nodiscard]] bool keep_alive(const Request& request) const;

  Server::State& m_state;
  const ServerOptions& m_options;
  net::Stream& m_stream;
  MessageParser m_parser;
  Instant m_accepted = MonotonicClock::now();
};

ParseResult<void> Connection::take_head(Request& request) {
  auto& head = m_parser.request_head();
  request.method = head.method;
  request.target = head.target;
  request.query = head.parsed_target.query;
  request.host = head.host;
  request.version = head.version;
  request.headers = std::move(head.headers);
  if (head.parsed_target.form == TargetForm::asterisk) {
    request.path = "*";
  } else {
    auto path = normalize_path(head.parsed_target.path);
    if (!path) return http::reject(Status::bad_request, "bad path");
    request.path = std::move(*path);
  }
  if (m_parser.framing().kind == BodyFraming::Kind::length) {
    // The length is the client's word, up to limits.max_body: held only when memory allows.
    auto length = static_cast<std::size_t>(m_parser.framing().length);
    if (!body_fits(length)) return http::reject(Status::service_unavailable, "no memory for the request body");
    request.body.reserve(length);
  }
  return {};
}

Task<Connection::Outcome> Connection::read_request(Request& request, bool first) {
  // The first request's header deadline runs from the accept (it covers a TLS handshake).
  bool started = first || m_parser.message_started();
  Instant now = MonotonicClock::now();
  Instant header_deadline = first ? m_accepted + m_options.header_timeout : now + m_options.header_timeout;
  Instant idle_deadline = now + m_options.idle_timeout;
  Instant body_deadline = far_future;
  for (;;) {
    auto event = m_parser.next();
    if (!event) {
      co_await reject(event.error());
      co_return Outcome::failed;
    }
    switch (event->type) {
    case MessageParser::Event::Type::need_more: {
      bool in_body = m_parser.in_body();
      Instant deadline = in_body ? body_deadline : started ? header_deadline : idle_deadline;
      auto count = co_await m_stream.read(m_parser.free_space(), deadline);
      if (!count) {
        // Between requests, a peer that closes without TLS's close_notify
        // (browsers, curl on exit) or resets has simply gone: not an error.
        if (!m_parser.message_started() && count.error() == Errc::closed) co_return Outcome::closed;
        if (count.error() != Errc::timed_out) {
          read_error.increment();
          co_return Outcome::failed;
        }
        if (!started) {
          idle_timeout.increment();
          co_return Outcome::failed;
        }
        (in_body ? body_timeout : header_timeout).increment();
        http_log.debug("{}: {} timed out", m_stream.remote(), in_body ? "body" : "header section");
        co_await reject({Status::request_timeout, "timeout"});
        co_return Outcome::failed;
      }
      if (*count == 0) m_parser.end_of_input();
      else m_parser.commit(*count);
      if (!started && m_parser.message_started()) {
        started = true;
        header_deadline = MonotonicClock::now() + m_options.header_timeout;
      }
      break;
    }
    case MessageParser::Event::Type::head: {
      if (auto taken = take_head(request); !taken) {
        co_await reject(taken.error());
        co_return Outcome::failed;
      }
      body_deadline = MonotonicClock::now() + m_options.body_timeout;
      if (m_parser.framing().kind == BodyFraming::Kind::none) break;
      // RFC 9110 §10.1.1: answer 100-continue before reading the body.
      if (auto expect = request.headers.get("Expect")) {
        if (!ascii::equals_ignoring_case(*expect, "100-continue")) {
          co_await reject({Status::expectation_failed, "unsupported expectation"});
          co_return Outcome::failed;
        }
        if (request.version == Version::http_1_1) {
          auto sent = co_await m_stream.write(as_bytes("HTTP/1.1 100 Continue\r\n\r\n"),
                                              MonotonicClock::now() + m_options.send_timeout);
          if (!sent) {
            write_error.increment();
            co_return Outcome::failed;
          }
        }
      }
      break;
    }
    case MessageParser::Event::Type::body:
      if (!body_fits(request.body, event->data.size())) {
        co_await reject(ParseError{Status::service_unavailable, "no memory for the request body"});
        co_return Outcome::failed;
      }
      request.body.insert(request.body.end(), event->data.begin(), event->data.end());
      break;
    case MessageParser::Event::Type::end: co_return Outcome::request;
    case MessageParser::Event::Type::closed: co_return Outcome::closed;
    }
  }
}

Task<void> Connection::reject(ParseError error) {
  if (error.status != Status::request_timeout) count_reject(error.status);
  http_log.debug("{}: {} {}", m_stream.remote(), code(error.status), error.reason);
  auto response = Response::error(error.status);
  ResponseContext context{.version = Version::http_1_1,
                          .close = true,
                          .server = m_options.server_name,
                          .date = WallClock::now(),
                          .send_timeout = m_options.send_timeout};
  if (!co_await write_response(m_stream, response, context)) {
    write_error.increment();
    co_return;
  }
  co_await close_gracefully();
}

// Half-closes and reads what the client still sends for a while, so that
// unread input does not turn the close into a reset that destroys the
// response before the client reads it (RFC 9112 §9.6).
Task<void> Connection::close_gracefully() {
  if (!m_stream.shutdown()) co_return;
  Instant deadline = MonotonicClock::now() + m_options.linger;
  std::size_t drained = 0;
  std::byte sink[2048];
  while (drained < 256 * 1024) {
    auto count = co_await m_stream.read(sink, deadline);
    if (!count || *count == 0) break;
    drained += *count;
  }
}

bool Connection::keep_alive(const Request& request) const {
  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  if (request.headers.has_token("Connection", "close")) return false;
  if (request.version == Version::http_1_0 && !request.headers.has_token("Connection", "keep-alive")) return false;
  return true;
}

Task<void> Connection::run() {
  for (bool first = true;; first = false) {
    Request request;
    request.remote = m_stream.remote();
    request.secure = m_options.secure;
    auto outcome = co_await read_request(request, first);
    if (outcome != Outcome::request) co_return;
    Instant started = MonotonicClock::now();
    requests_served.increment();
    Response response = co_await m_state.handler(request);

    bool close = !keep_alive(request);
    if (!close && m_state.active * 4 >= m_options.max_connections * 3) {
      keepalive_shed.increment();
      close = true;
    }
    ResponseContext context{.version = request.version,
                            .head_request = request.method == "HEAD",
                            .close = close,
                            .server = m_options.server_name,
                            .date = WallClock::now(),
                            .send_timeout = m_options.send_timeout};
    auto head = serialize_response_head(response, context);
    if (!head) {
      bad_response.increment();
      http_log.warn("{} {}: the handler's response has an unsafe field; sending 500", request.method, request.path);
      response = Response::error(Status::internal_server_error);
      head = serialize_response_head(response, context);
    }
    close = response_closes(response, context);
    auto sent = head ? co_await write_response(m_stream, std::move(*head), response, context)
                     : Result<std::uint64_t>{std::unexpected(head.error())};
    auto elapsed = MonotonicClock::now() - started;
    http_log.info("{} \"{} {}\" {} {} {}", request.remote, request.method, request.target, code(response.status),
                  sent ? *sent : 0, std::chrono::duration_cast<std::chrono::microseconds>(elapsed));
    if (!sent) {
      write_error.increment();
      co_return;
    }
    if (close) {
      co_await close_gracefully();
      co_return;
    }
  }
}

Task<void> serve_connection(Slot slot, std::unique_ptr<net::Stream> stream) {
  auto& state = slot.state();
  auto parser = MessageParser::create(MessageParser::Kind::request, state.options.limits);
  if (!parser) {
    no_memory.increment();
    stream->abort();
    co_return;
  }
  Connection connection(state, *stream, std::move(*parser));
  co_await connection.run();
}

} // namespace

Server::Server(Handler handler, ServerOptions options)
    : m_state(std::make_shared<State>(State{std::move(handler), std::move(options)})) {}

void Server::accept(std::unique_ptr<net::Stream> stream) {
  if (m_state->active >= m_state->options.max_connections) {
    connection_limit.increment();
    stream->abort();
    return;
  }
  if (memory_stats().free < accept_memory_reserve) {
    no_memory.increment();
    if (m_state->no_memory_warned.try_now())
      http_log.warn("closing new connections: low on memory ({} refused)", no_memory.value());
    stream->abort();
    return;
  }
  connections_accepted.increment();
  // Every response goes out in as few writes as the writer can make it;
  // Nagle would hold the last segment of each until the client's delayed ACK.
  stream->set_nodelay(true);
  loop().spawn(serve_connection(Slot(m_state), std::move(stream)));
}

Task<Result<void>> Server::serve(net::Listener& listener) {
  for (;;) {
    auto stream = co_await listener.accept();
    // One connection the listener closed for want of memory; it goes on.
    if (!stream && stream.error() == Errc::no_memory) continue;
    if (!stream) co_return std::unexpected(stream.error());
    accept(std::move(*stream));
  }
}

std::size_t Server::active_connections() const { return m_state->active; }

const ServerOptions& Server::options() const { return m_state->options; }

} // namespace morgana::http
