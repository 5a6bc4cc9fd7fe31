#include "morgana/http/response_writer.h"

#include <algorithm>

#include "morgana/core/ascii.h"
#include "morgana/core/format.h"
#include "morgana/http/date.h"

namespace morgana::http {
namespace {

constexpr std::size_t slice_size = 64 * 1024;

bool is_safe_value(std::string_view value) {
  return std::ranges::none_of(value, [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool writer_owned(std::string_view name) {
  for (std::string_view owned : {"Content-Length", "Transfer-Encoding", "Connection", "Date", "Server", "Keep-Alive"}) {
    if (ascii::equals_ignoring_case(name, owned)) return true;
  }
  return false;
}

// Chunks up to this size are copied between their size line and CRLF and sent
// in one write; larger ones go out from where they are.
constexpr std::size_t coalesce_limit = 16 * 1024;

// `head`, then `body` in slices: the first slice leaves with the head; with
// `last`, the end of the stream leaves with the last slice.
Task<Result<void>> write_body(net::Stream& stream, Bytes head, const SharedBytes& body, Duration timeout,
                              bool last = false) {
  std::size_t offset = 0;
  do {
    auto slice = body.slice(offset, std::min(body.size() - offset, slice_size));
    offset += slice.size();
    auto deadline = MonotonicClock::now() + timeout;
    CO_TRY(co_await (last && offset == body.size() ? stream.write_last(head, slice, deadline)
                                                   : stream.write_shared(head, slice, deadline)));
    head = {};
  } while (offset < body.size());
  co_return Result<void>{};
}

} // namespace

bool response_closes(const Response& response, const ResponseContext& context) {
  if (context.close) return true;
  return response.source && !context.head_request && context.version == Version::http_1_0 &&
         status_allows_content(response.status);
}

Result<std::string> serialize_response_head(const Response& response, const ResponseContext& context) {
  auto status = code(response.status);
  if (status < 100 || status > 999) return fail(Errc::malformed, "status code");
  std::string head;
  head.reserve(256);
  StringBuilder<64> line;
  // A 1.0 client gets HTTP/1.1 too: the version is the server's (RFC 9110 §6.2).
  format_to(line, "HTTP/1.1 {} {}\r\n", status, reason_phrase(response.status));
  head += line.view();
  auto field = [&head](std::string_view name, std::string_view value) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  };
  if (context.date != WallClock::time_point{}) field("Date", format_http_date(context.date));
  if (!context.server.empty()) field("Server", context.server);
  for (const auto& [name, value] : response.headers) {
    if (!is_token(name) || !is_safe_value(value)) return fail(Errc::malformed, "response field");
    if (!writer_owned(name)) field(name, value);
  }
  bool closes = response_closes(response, context);
  // No Content-Length or Transfer-Encoding on 1xx and 204 (RFC 9110 §8.6, RFC 9112 §6.1);
  // a 304 has no content, and a Content-Length would describe the selected representation.
  if (status_allows_content(response.status)) {
    if (!response.source) {
      StringBuilder<24> length;
      format_to(length, "{}", response.body.size());
      field("Content-Length", length.view());
    } else if (context.version == Version::http_1_1 && !context.head_request) {
      field("Transfer-Encoding", "chunked");
    }
  }
  if (closes) field("Connection", "close");
  else if (context.version == Version::http_1_0) field("Connection", "keep-alive");
  head += "\r\n";
  return head;
}

Task<Result<std::uint64_t>> write_response(net::Stream& stream, Response& response, ResponseContext context) {
  auto head = CO_TRY(serialize_response_head(response, context));
  co_return co_await write_response(stream, std::move(head), response, context);
}

Task<Result<std::uint64_t>> write_response(net::Stream& stream, std::string head, Response& response,
                                           ResponseContext context) {
  const bool has_content = !context.head_request && status_allows_content(response.status);
  // A response that ends the connection takes the stream's end with its last
  // write: one segment with data and FIN instead of a FIN of its own after it.
  const bool closes = response_closes(response, context);
  if (!has_content || !response.source) {
    auto body = has_content ? response.body : Body{};
    CO_TRY(co_await write_body(stream, as_bytes(head), body, context.send_timeout, closes));
    co_return std::uint64_t{body.size()};
  }
  CO_TRY(co_await stream.write(as_bytes(head), MonotonicClock::now() + context.send_timeout));
  bool chunked = context.version == Version::http_1_1;
  std::uint64_t sent = 0;
  for (;;) {
    auto piece = CO_TRY(co_await response.source->next());
    if (piece.data.empty()) break;
    if (chunked) {
      // chunk = chunk-size CRLF chunk-data CRLF (RFC 9112 §7.1), in one write when small.
      std::string chunk = format_string("{}\r\n", Hex{piece.size()});
      if (piece.size() <= coalesce_limit) {
        chunk += as_string(piece.data);
        chunk += "\r\n";
        CO_TRY(co_await stream.write(as_bytes(chunk), MonotonicClock::now() + context.send_timeout));
      } else {
        CO_TRY(co_await write_body(stream, as_bytes(chunk), piece, context.send_timeout));
        CO_TRY(co_await stream.write(as_bytes("\r\n"), MonotonicClock::now() + context.send_timeout));
      }
    } else {
      CO_TRY(co_await write_body(stream, {}, piece, context.send_timeout));
    }
    sent += piece.size();
  }
  if (chunked) {
    auto last_chunk = as_bytes("0\r\n\r\n");
    auto deadline = MonotonicClock::now() + context.send_timeout;
    CO_TRY(co_await (closes ? stream.write_last(last_chunk, {}, deadline) : stream.write(last_chunk, deadline)));
  }
  co_return sent;
}

} // namespace morgana::http
