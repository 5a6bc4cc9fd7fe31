#pragma once

// A response as a handler builds it. The body is bytes with an owner (like
// kv::Value), so a file from a store goes out without a copy; or a source of
// pieces, sent chunked, for bodies whose length is not known up front.

#include <memory>
#include <string>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/http/headers.h"
#include "morgana/http/status.h"
#include "morgana/kv/store.h"

namespace morgana::http {

// Bytes with an owner; null for static data.
struct Body : SharedBytes {
  [[nodiscard]] static Body from_string(std::string text);
  [[nodiscard]] static Body from_value(kv::Value value) { return {std::move(value)}; }
  // Data in static storage (string literals, the image's read-only data).
  [[nodiscard]] static Body from_static(std::string_view text) { return {{as_bytes(text), nullptr}}; }
  // The bytes [offset, offset + length) sharing the same owner.
  [[nodiscard]] Body slice(std::size_t offset, std::size_t length) const {
    return {SharedBytes::slice(offset, length)};
  }
};

// A body produced piece by piece. next() returns an empty Body at the end.
class BodySource {
public:
  virtual ~BodySource() = default;
  [[nodiscard]] virtual Task<Result<Body>> next() = 0;
};

struct Response {
  Status status = Status::ok;
  // Content-Length, Transfer-Encoding, Connection, Date and Server are the
  // writer's: whatever a handler puts there is replaced.
  Headers headers;
  Body body;
  // When set, the body comes from here instead (chunked in HTTP/1.1,
  // delimited by the close in HTTP/1.0).
  std::unique_ptr<BodySource> source;

  // A text/plain response.
  [[nodiscard]] static Response text(Status status, std::string_view text,
                                     std::string_view content_type = "text/plain; charset=utf-8");
  // A short text/plain page for an error status: "404 Not Found\n".
  [[nodiscard]] static Response error(Status status);
  [[nodiscard]] static Response redirect(Status status, std::string_view location);
};

} // namespace morgana::http
