#pragma once

// Serves files from a kv::Store (RFC 9110): GET and HEAD; "/" and "/dir/"
// map to index.html, "/dir" of a directory redirects (301) to "/dir/";
// missing files get 404 with the store's 404.html when present.
//
// Validators and conditionals: ETag is the quoted digest (strong), with
// If-None-Match (weak comparison, "*", lists) → 304, taking precedence over
// If-Modified-Since → 304 (RFC 9110 §13.2.2). If-Match and
// If-Unmodified-Since are not evaluated.
//
// Ranges (RFC 9110 §14): one range "bytes=a-b", "a-" or "-n" → 206 with
// Content-Range; unsatisfiable → 416 with "bytes */length"; several ranges
// or a syntax we do not know are ignored (200 with the whole file); If-Range
// (strong ETag or exact Last-Modified) falls back to 200 when it does not
// match. Ranges only for GET.
//
// Compression: with "Accept-Encoding: gzip" (q-values honoured; "gzip;q=0"
// refuses it; "*" counts) and a gzip variant in the store, the variant is
// sent with Content-Encoding: gzip and its own ETag ("<digest>-gzip").
// A request with Range always gets the identity representation, so ranges
// are always of the file's own bytes. Vary: Accept-Encoding goes on every
// response for a file that has a gzip variant.

#include <functional>
#include <memory>
#include <string>

#include "morgana/http/request.h"
#include "morgana/http/response.h"
#include "morgana/kv/store.h"

namespace morgana::http {

struct StaticFilesOptions {
  std::string cache_control = "public, max-age=300"; // none when empty
  std::string index = "index.html";
  std::string not_found_page = "404.html";
  // Called on every response before it goes out, e.g. to add
  // Strict-Transport-Security when request.secure.
  std::function<void(const Request&, Response&)> decorate;
};

class StaticFiles {
public:
  explicit StaticFiles(std::shared_ptr<const kv::Store> store, StaticFilesOptions options = {});
  // A store that outlives this object (e.g. kv::crunched("site")).
  explicit StaticFiles(const kv::Store& store, StaticFilesOptions options = {});

  // Later requests read `store` (a new git commit); responses in flight keep the old one's values.
  void replace_store(std::shared_ptr<const kv::Store> store) { m_store = std::move(store); }

  [[nodiscard]] Response respond(const Request& request) const;
  // A Handler for a Server or Router; this object must outlive it.
  [[nodiscard]] Handler handler() const;

private:
  [[nodiscard]] Response not_found(const Request& request) const;

  std::shared_ptr<const kv::Store> m_store;
  StaticFilesOptions m_options;
};

// Helpers, public for tests and for other handlers.

// The answer to a GET or HEAD for `key` of `store` (whose metadata is
// `metadata`), with everything described above: ETag and Last-Modified,
// 304, Range, the gzip variant. StaticFiles answers every file with it, and
// handlers that map requests to keys their own way (the blog) use it so that
// their files are served the same way.
[[nodiscard]] Response respond_stored(const Request& request, const kv::Store& store, std::string_view key,
                                      const kv::Metadata& metadata, std::string_view cache_control);

// Whether an If-None-Match value matches `etag` by weak comparison (RFC 9110 §13.1.2).
[[nodiscard]] bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// Whether the request accepts gzip content coding (RFC 9110 §12.5.3); false without Accept-Encoding.
[[nodiscard]] bool accepts_gzip(const Headers& headers);

struct ByteRange {
  enum class Kind : std::uint8_t { ignore, unsatisfiable, satisfiable };
  Kind kind = Kind::ignore;
  std::uint64_t first = 0;
  std::uint64_t last = 0; // inclusive
};

// A Range field value applied to a representation of `length` bytes (RFC 9110 §14.1.2).
[[nodiscard]] ByteRange parse_range(std::string_view range, std::uint64_t length);

} // namespace morgana::http
