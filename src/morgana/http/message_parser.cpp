#include "morgana/http/message_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "morgana/core/ascii.h"
#include "morgana/core/memory.h"

namespace morgana::http {
namespace {

// Room for body bytes beside a head of the largest allowed size.
constexpr std::size_t body_room = 16 * 1024;

// Visible ASCII only: a request-target holds no whitespace or controls (RFC 9112 §3.2).
bool is_target(std::string_view target) {
  return !target.empty() && std::ranges::all_of(target, [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f;
  });
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3).
ParseResult<Version> parse_version(std::string_view text) {
  if (text.size() != 8 || !text.starts_with("HTTP/") || !ascii::is_digit(text[5]) || text[6] != '.' ||
      !ascii::is_digit(text[7])) {
    return reject(Status::bad_request, "malformed HTTP version");
  }
  if (text == "HTTP/1.1") return Version::http_1_1;
  if (text == "HTTP/1.0") return Version::http_1_0;
  return reject(Status::http_version_not_supported, "unsupported HTTP version");
}

ParseResult<std::uint64_t> content_length(const Headers& headers) {
  auto values = headers.list("Content-Length");
  if (values.empty()) return reject(Status::bad_request, "empty Content-Length");
  // Identical repeats are one value; differing ones are an error (RFC 9110 §8.6).
  for (auto value : values) {
    if (value != values.front()) return reject(Status::bad_request, "differing Content-Length values");
  }
  std::uint64_t length = 0;
  for (char c : values.front()) {
    if (c < '0' || c > '9') return reject(Status::bad_request, "bad Content-Length");
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (length > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return reject(Status::bad_request, "Content-Length overflows");
    }
    length = length * 10 + digit;
  }
  return length;
}

} // namespace

std::string_view version_name(Version version) { return version == Version::http_1_0 ? "HTTP/1.0" : "HTTP/1.1"; }

ParseResult<BodyFraming> request_framing(const Headers& headers, Version version, const ParserLimits& limits) {
  if (headers.contains("Transfer-Encoding")) {
    // RFC 9112 §6.3 ¶3: both present is a smuggling attempt.
    if (headers.contains("Content-Length")) return reject(Status::bad_request, "Transfer-Encoding with Content-Length");
    // RFC 9112 §6.1: HTTP/1.0 has no transfer codings; the framing is faulty.
    if (version == Version::http_1_0) return reject(Status::bad_request, "Transfer-Encoding in HTTP/1.0");
    auto codings = headers.list("Transfer-Encoding");
    // RFC 9112 §6.3 ¶4: chunked must be the final coding.
    if (codings.empty() || !ascii::equals_ignoring_case(codings.back(), "chunked")) {
      return reject(Status::bad_request, "chunked is not the final transfer coding");
    }
    for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
      if (ascii::equals_ignoring_case(codings[i], "chunked"))
        return reject(Status::bad_request, "chunked applied twice");
    }
    // RFC 9112 §6.1: a coding we do not understand.
    if (codings.size() > 1) return reject(Status::not_implemented, "unsupported transfer coding");
    return BodyFraming{BodyFraming::Kind::chunked, 0};
  }
  if (headers.contains("Content-Length")) {
    auto length = TRY(content_length(headers));
    if (length > limits.max_body) return reject(Status::content_too_large, "Content-Length above the limit");
    if (length == 0) return BodyFraming{};
    return BodyFraming{BodyFraming::Kind::length, length};
  }
  return BodyFraming{};
}

ParseResult<BodyFraming> response_framing(const Headers& headers, Status status, std::string_view request_method,
                                          const ParserLimits& limits) {
  if (request_method == "HEAD" || !status_allows_content(status)) return BodyFraming{};
  if (headers.contains("Transfer-Encoding")) {
    auto codings = headers.list("Transfer-Encoding");
    // RFC 9112 §6.3 ¶4: not chunked last: the body runs until the close.
    if (codings.empty() || !ascii::equals_ignoring_case(codings.back(), "chunked"))
      return BodyFraming{BodyFraming::Kind::until_close, 0};
    if (codings.size() > 1) return reject(Status::not_implemented, "unsupported transfer coding");
    return BodyFraming{BodyFraming::Kind::chunked, 0};
  }
  if (headers.contains("Content-Length")) {
    auto length = TRY(content_length(headers));
    if (length > limits.max_body) return reject(Status::content_too_large, "Content-Length above the limit");
    return BodyFraming{BodyFraming::Kind::length, length};
  }
  return BodyFraming{BodyFraming::Kind::until_close, 0};
}

MessageParser::MessageParser(Kind kind, ParserLimits limits, std::unique_ptr<std::byte[]> buffer, std::size_t capacity)
    : m_kind(kind), m_limits(limits), m_buffer(std::move(buffer)), m_capacity(capacity), m_chunked(limits.chunked) {}

Result<MessageParser> MessageParser::create(Kind kind, ParserLimits limits) {
  std::size_t capacity = limits.max_start_line + 2 + limits.max_header_section + 2 + body_room;
  auto buffer = TRY(try_make_unique<std::byte[]>("http parser buffer", capacity));
  return MessageParser(kind, limits, std::move(buffer), capacity);
}

std::string_view MessageParser::view(std::size_t from, std::size_t to) const {
  return {reinterpret_cast<const char*>(m_buffer.get()) + from, to - from};
}

bool MessageParser::message_started() const {
  if (m_phase == Phase::body) return true;
  if (m_phase == Phase::failed) return false;
  return m_end > m_begin;
}

MutableBytes MessageParser::free_space() {
  if (m_phase == Phase::failed) return {};
  if (m_phase == Phase::head) {
    shift_to_front();
  } else if (m_begin > m_head_end) {
    // Drop consumed body bytes; the head before them stays in place.
    std::memmove(m_buffer.get() + m_head_end, m_buffer.get() + m_begin, m_end - m_begin);
    m_end -= m_begin - m_head_end;
    m_begin = m_head_end;
  }
  return {m_buffer.get() + m_end, m_capacity - m_end};
}

void MessageParser::commit(std::size_t count) { m_end += std::min(count, m_capacity - m_end); }

void MessageParser::end_of_input() { m_input_ended = true; }

void MessageParser::shift_to_front() {
  if (m_begin == 0) return;
  std::memmove(m_buffer.get(), m_buffer.get() + m_begin, m_end - m_begin);
  m_end -= m_begin;
  m_scan -= m_begin;
  m_line_start -= m_begin;
  m_fields_start = m_fields_start >= m_begin ? m_fields_start - m_begin : 0;
  m_begin = 0;
}

void MessageParser::start_message() {
  m_phase = Phase::head;
  m_scan = m_begin;
  m_line_start = m_begin;
  m_fields_start = m_begin;
  m_head_end = m_begin;
  m_field_count = 0;
  m_start_line_done = false;
  m_request = {};
  m_response = {};
  m_framing = {};
  m_body_remaining = 0;
  m_body_received = 0;
  m_chunked = ChunkedDecoder(m_limits.chunked);
}

ParseResult<MessageParser::Event> MessageParser::failed(ParseError error) {
  m_phase = Phase::failed;
  m_error = error;
  return std::unexpected(error);
}

ParseResult<bool> MessageParser::scan_head() {
  bool request = m_kind == Kind::request;
  while (m_scan < m_end) {
    char c = view(m_scan, m_scan + 1)[0];
    if (c == '\n') {
      // Lines end in CRLF; a bare LF is not accepted (RFC 9112 §2.2).
      if (m_scan == m_line_start || view(m_scan - 1, m_scan)[0] != '\r') {
        return reject(Status::bad_request, "line ends in a bare LF");
      }
      std::size_t length = m_scan - 1 - m_line_start;
      if (!m_start_line_done) {
        if (length == 0 && request) {
          // Empty lines before the request-line are ignored (RFC 9112 §2.2).
          m_begin = m_line_start = ++m_scan;
          continue;
        }
        if (length > m_limits.max_start_line) {
          return reject(request ? Status::uri_too_long : Status::bad_gateway, "start line too long");
        }
        m_start_line_done = true;
        m_fields_start = m_scan + 1;
      } else if (length == 0) {
        m_head_end = ++m_scan;
        return true;
      } else if (++m_field_count > m_limits.max_fields) {
        return reject(Status::request_header_fields_too_large, "too many header fields");
      }
      m_line_start = m_scan + 1;
    }
    ++m_scan;
    if (!m_start_line_done) {
      if (m_scan - m_line_start > m_limits.max_start_line + 1) {
        return reject(request ? Status::uri_too_long : Status::bad_gateway, "start line too long");
      }
    } else if (m_scan - m_fields_start > m_limits.max_header_section + 2) {
      return reject(Status::request_header_fields_too_large, "header section too large");
    }
  }
  return false;
}

ParseResult<void> MessageParser::parse_fields(Headers& headers) {
  std::size_t line_start = m_fields_start;
  while (line_start + 2 < m_head_end) {
    auto line_end = view(line_start, m_head_end).find("\r\n");
    auto line = view(line_start, line_start + line_end);
    line_start += line_end + 2;
    // RFC 9112 §5.2: obs-fold is rejected.
    if (line.front() == ' ' || line.front() == '\t') return reject(Status::bad_request, "obs-fold");
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return reject(Status::bad_request, "field line without a colon");
    auto name = line.substr(0, colon);
    // RFC 9112 §5.1: no whitespace between the name and the colon.
    if (!is_token(name)) return reject(Status::bad_request, "bad field name");
    auto value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) return reject(Status::bad_request, "bad byte in field value");
    headers.add_view(name, value);
  }
  return {};
}

ParseResult<void> MessageParser::parse_request_line(std::string_view line) {
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3)
  auto first = line.find(' ');
  if (first == std::string_view::npos) return reject(Status::bad_request, "malformed request line");
  auto second = line.find(' ', first + 1);
  if (second == std::string_view::npos) return reject(Status::bad_request, "malformed request line");
  m_request.method = line.substr(0, first);
  m_request.target = line.substr(first + 1, second - first - 1);
  if (!is_token(m_request.method)) return reject(Status::bad_request, "bad method");
  if (!is_target(m_request.target)) return reject(Status::bad_request, "bad request-target");
  m_request.version = TRY(parse_version(line.substr(second + 1)));
  m_request.parsed_target = TRY(parse_request_target(m_request.target, m_request.method));
  return {};
}

ParseResult<void> MessageParser::parse_status_line(std::string_view line) {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
  if (line.size() < 12 || line[8] != ' ') return reject(Status::bad_gateway, "malformed status line");
  m_response.version = TRY(parse_version(line.substr(0, 8)));
  unsigned status = 0;
  for (char c : line.substr(9, 3)) {
    if (c < '0' || c > '9') return reject(Status::bad_gateway, "malformed status code");
    status = status * 10 + static_cast<unsigned>(c - '0');
  }
  if (status < 100) return reject(Status::bad_gateway, "malformed status code");
  m_response.status = static_cast<Status>(status);
  if (line.size() > 12) {
    if (line[12] != ' ') return reject(Status::bad_gateway, "malformed status line");
    m_response.reason = line.substr(13);
    if (!is_field_value(m_response.reason)) return reject(Status::bad_gateway, "bad reason phrase");
  }
  return {};
}

ParseResult<void> MessageParser::parse_head() {
  auto start_line = view(0, m_fields_start - 2);
  if (m_kind == Kind::response) {
    TRY(parse_status_line(start_line));
    TRY(parse_fields(m_response.headers));
    m_framing = TRY(response_framing(m_response.headers, m_response.status, m_request_method, m_limits));
  } else {
    TRY(parse_request_line(start_line));
    TRY(parse_fields(m_request.headers));
    // RFC 9112 §3.2: one valid Host; HTTP/1.1 requires it.
    auto hosts = m_request.headers.count("Host");
    if (hosts > 1) return reject(Status::bad_request, "more than one Host");
    if (hosts == 0 && m_request.version == Version::http_1_1) return reject(Status::bad_request, "no Host");
    auto host = m_request.headers.get("Host").value_or("");
    if (!host.empty() && !is_valid_host(host)) return reject(Status::bad_request, "bad Host");
    m_request.host = m_request.parsed_target.form == TargetForm::absolute ? m_request.parsed_target.authority : host;
    m_framing = TRY(request_framing(m_request.headers, m_request.version, m_limits));
  }
  m_body_remaining = m_framing.length;
  return {};
}

ParseResult<MessageParser::Event> MessageParser::next() {
  switch (m_phase) {
  case Phase::failed: return std::unexpected(m_error);
  case Phase::end: start_message(); break;
  case Phase::body: return next_body();
  case Phase::head: break;
  }
  auto complete = scan_head();
  if (!complete) return failed(complete.error());
  if (!*complete) {
    if (!m_input_ended) return Event{};
    if (m_end == m_begin) return Event{Event::Type::closed, {}};
    return failed({Status::bad_request, "connection closed inside a head"});
  }
  // The head moves to the front once, before views into it exist.
  auto offset = m_begin;
  shift_to_front();
  m_head_end -= offset;
  auto parsed = parse_head();
  if (!parsed) return failed(parsed.error());
  m_begin = m_head_end;
  m_phase = Phase::body;
  return Event{Event::Type::head, {}};
}

ParseResult<MessageParser::Event> MessageParser::next_body() {
  auto body_event = [&](std::size_t offset, std::size_t size) -> ParseResult<Event> {
    m_body_received += size;
    if (m_body_received > m_limits.max_body) return failed({Status::content_too_large, "body above the limit"});
    return Event{Event::Type::body, Bytes(m_buffer.get() + offset, size)};
  };
  for (;;) {
    auto available = m_end - m_begin;
    switch (m_framing.kind) {
    case BodyFraming::Kind::none: m_phase = Phase::end; return Event{Event::Type::end, {}};
    case BodyFraming::Kind::length: {
      if (m_body_remaining == 0) {
        m_phase = Phase::end;
        return Event{Event::Type::end, {}};
      }
      if (available == 0) break;
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(available, m_body_remaining));
      m_body_remaining -= take;
      m_begin += take;
      return body_event(m_begin - take, take);
    }
    case BodyFraming::Kind::chunked: {
      if (m_chunked.done()) {
        m_phase = Phase::end;
        return Event{Event::Type::end, {}};
      }
      if (available == 0) break;
      auto step = m_chunked.decode(view(m_begin, m_end));
      if (!step) return failed(step.error());
      auto data_start = m_begin + step->data_offset;
      m_begin += step->consumed;
      if (step->data_size > 0) return body_event(data_start, step->data_size);
      continue;
    }
    case BodyFraming::Kind::until_close:
      if (available > 0) {
        m_begin = m_end;
        return body_event(m_end - available, available);
      }
      if (m_input_ended) {
        m_phase = Phase::end;
        return Event{Event::Type::end, {}};
      }
      return Event{};
    }
    if (m_input_ended) return failed({Status::bad_request, "connection closed inside a body"});
    return Event{};
  }
}

} // namespace morgana::http
