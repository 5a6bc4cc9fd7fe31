#pragma once

// An incremental HTTP/1.1 message parser (RFC 9112) for requests and
// responses. Bytes arrive in any pieces; the parser yields the head (start
// line and header fields), then the body as framed by Content-Length,
// chunked, or the end of the connection (responses), then the message's end.
//
// The parser owns the connection's input buffer and the head's fields are
// views into it (no copies). Usage:
//
//   for (;;) {
//     auto event = TRY(parser.next());
//     if (event.type == need_more) { n = read(parser.free_space()); n ? parser.commit(n) : parser.end_of_input(); }
//     ...
//   }
//
// Lifetimes: the head (request_head()/response_head()) stays valid until the
// call to next() after its `end` event; body data stays valid until the next
// call to next() or free_space(). Bytes after a message (pipelined requests)
// stay buffered for the next one. Errors are sticky.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/http/chunked.h"
#include "morgana/http/headers.h"
#include "morgana/http/status.h"
#include "morgana/http/target.h"

namespace morgana::http {

enum class Version : std::uint8_t { http_1_0, http_1_1 };

[[nodiscard]] std::string_view version_name(Version version);

struct ParserLimits {
  std::size_t max_start_line = 8 * 1024;      // request line beyond: 414
  std::size_t max_header_section = 16 * 1024; // field lines beyond: 431
  std::size_t max_fields = 100;               // field lines beyond: 431
  std::uint64_t max_body = 1024 * 1024;       // body beyond: 413
  ChunkedLimits chunked;
};

struct RequestHead {
  std::string_view method;
  std::string_view target; // as received
  RequestTarget parsed_target;
  Version version = Version::http_1_1;
  // The authority of an absolute-form target, else the Host field ("" when absent).
  std::string_view host;
  Headers headers;
};

struct ResponseHead {
  Version version = Version::http_1_1;
  Status status = Status::ok;
  std::string_view reason;
  Headers headers;
};

struct BodyFraming {
  enum class Kind : std::uint8_t { none, length, chunked, until_close };
  Kind kind = Kind::none;
  std::uint64_t length = 0; // for Kind::length
};

// How a request's body is delimited (RFC 9112 §6.3): Transfer-Encoding and
// Content-Length together → 400; chunked not last → 400; other transfer
// codings → 501; differing or bad Content-Length → 400; larger than
// limits.max_body → 413; TE in HTTP/1.0 → 400.
[[nodiscard]] ParseResult<BodyFraming> request_framing(const Headers& headers, Version version,
                                                       const ParserLimits& limits);
// How a response's body is delimited (RFC 9112 §6.3), given the method of the
// request it answers: none for HEAD, 1xx, 204 and 304.
[[nodiscard]] ParseResult<BodyFraming> response_framing(const Headers& headers, Status status,
                                                        std::string_view request_method, const ParserLimits& limits);

class MessageParser {
public:
  enum class Kind : std::uint8_t { request, response };

  struct Event {
    enum class Type : std::uint8_t {
      need_more, // read into free_space(), then commit() or end_of_input()
      head,      // the head is ready
      body,      // `data` is the next piece of the body
      end,       // the message is complete
      closed,    // the input ended cleanly between messages
    };
    Type type = Type::need_more;
    Bytes data;
  };

  // Errc::no_memory when the buffer cannot be allocated.
  [[nodiscard]] static Result<MessageParser> create(Kind kind, ParserLimits limits = {});

  // Where to read more input; never empty after next() said need_more.
  [[nodiscard]] MutableBytes free_space();
  void commit(std::size_t count);
  // The peer closed its side: ends a body delimited by the close, and fails
  // a message cut short.
  void end_of_input();

  [[nodiscard]] ParseResult<Event> next();

  // For response parsers: the method of the request the next response
  // answers (HEAD responses have no body).
  void set_request_method(std::string_view method) { m_request_method = method; }

  [[nodiscard]] RequestHead& request_head() { return m_request; }
  [[nodiscard]] ResponseHead& response_head() { return m_response; }
  [[nodiscard]] const BodyFraming& framing() const { return m_framing; }
  // Whether bytes of a message (not only the blank lines allowed before a
  // request, RFC 9112 §2.2) have arrived since the last message ended.
  [[nodiscard]] bool message_started() const;
  // Whether the head has been parsed and the body is being read.
  [[nodiscard]] bool in_body() const { return m_phase == Phase::body; }
  [[nodiscard]] std::uint64_t body_received() const { return m_body_received; }

private:
  enum class Phase : std::uint8_t { head, body, end, failed };

  MessageParser(Kind kind, ParserLimits limits, std::unique_ptr<std::byte[]> buffer, std::size_t capacity);

  [[nodiscard]] std::string_view view(std::size_t from, std::size_t to) const;
  void start_message();
  void shift_to_front();
  [[nodiscard]] ParseResult<bool> scan_head();
  [[nodiscard]] ParseResult<void> parse_head();
  [[nodiscard]] ParseResult<void> parse_fields(Headers& headers);
  [[nodiscard]] ParseResult<void> parse_request_line(std::string_view line);
  [[nodiscard]] ParseResult<void> parse_status_line(std::string_view line);
  [[nodiscard]] ParseResult<Event> next_body();
  ParseResult<Event> failed(ParseError error);

  Kind m_kind;
  ParserLimits m_limits;
  std::unique_ptr<std::byte[]> m_buffer;
  std::size_t m_capacity;
  std::size_t m_begin = 0; // first unconsumed byte
  std::size_t m_end = 0;   // end of the received bytes
  bool m_input_ended = false;
  Phase m_phase = Phase::head;
  ParseError m_error{Status::bad_request, ""};

  // Head scanning, positions in the buffer.
  std::size_t m_scan = 0;
  std::size_t m_line_start = 0;
  std::size_t m_fields_start = 0;
  std::size_t m_head_end = 0;
  std::size_t m_field_count = 0;
  bool m_start_line_done = false;

  RequestHead m_request;
  ResponseHead m_response;
  std::string m_request_method = "GET";
  BodyFraming m_framing;
  std::uint64_t m_body_remaining = 0;
  std::uint64_t m_body_received = 0;
  ChunkedDecoder m_chunked;
};

} // namespace morgana::http
