#pragma once

// Serves a blog::Snapshot over HTTP. Requests map to exact keys ("/" → "",
// "/Posts" → "Posts", "/Posts/Hello" → "Posts/Hello"), since a path can be
// both a page and a folder, which http::StaticFiles's directory rules
// ("/dir" → 301 "/dir/", "/dir/" → index.html) do not allow. A trailing
// slash is dropped with a 301 ("/Posts/" → "/Posts"); redirects answer 301
// to their target; unknown keys get the snapshot's 404 page. Values are
// answered by http::respond_stored, as static files are: ETag, 304,
// Last-Modified, Range, gzip, HEAD.
//
//   blog::Handler blog(snapshot);
//   server.handle(blog.handler());
//   ...
//   blog.replace_snapshot(TRY(blog::render(*store, options, blog.snapshot().get(), log)));

#include <functional>
#include <memory>
#include <string>

#include "morgana/blog/snapshot.h"
#include "morgana/http/request.h"
#include "morgana/http/response.h"

namespace morgana::blog {

struct HandlerOptions {
  std::string cache_control = "public, max-age=60"; // none when empty
  // Called on every response before it goes out (e.g. HSTS).
  std::function<void(const http::Request&, http::Response&)> decorate;
};

class Handler {
public:
  explicit Handler(std::shared_ptr<const Snapshot> snapshot, HandlerOptions options = {});

  // Later requests read `snapshot`; responses in flight keep the old one's values.
  void replace_snapshot(std::shared_ptr<const Snapshot> snapshot) { m_snapshot = std::move(snapshot); }
  [[nodiscard]] const std::shared_ptr<const Snapshot>& snapshot() const { return m_snapshot; }

  [[nodiscard]] http::Response respond(const http::Request& request) const;
  // An http::Handler for a Server or Router; this object must outlive it.
  [[nodiscard]] http::Handler handler() const;

private:
  [[nodiscard]] http::Response respond_get(const http::Request& request) const;

  std::shared_ptr<const Snapshot> m_snapshot;
  HandlerOptions m_options;
};

} // namespace morgana::blog
