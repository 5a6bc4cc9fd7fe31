#include "morgana/blog/handler.h"

#include "morgana/http/static_files.h"
#include "morgana/http/target.h"

namespace morgana::blog {

Handler::Handler(std::shared_ptr<const Snapshot> snapshot, HandlerOptions options)
    : m_snapshot(std::move(snapshot)), m_options(std::move(options)) {}

namespace {
// A plain function, not a capturing coroutine lambda: the frame must not
// refer to a closure that may be gone when it runs.
Task<http::Response> respond_task(const Handler* blog, const http::Request& request) {
  co_return blog->respond(request);
}

http::Response redirect(std::string_view location, std::string_view query) {
  std::string target(location);
  if (!query.empty()) {
    target += '?';
    target += query;
  }
  return http::Response::redirect(http::Status::moved_permanently, target);
}
} // namespace

http::Handler Handler::handler() const {
  return [this](http::Request& request) { return respond_task(this, request); };
}

http::Response Handler::respond(const http::Request& request) const {
  http::Response response;
  if (request.method != "GET" && request.method != "HEAD") {
    response = http::Response::error(http::Status::method_not_allowed);
    response.headers.add("Allow", "GET, HEAD");
  } else {
    response = respond_get(request);
  }
  if (m_options.decorate) m_options.decorate(request, response);
  return response;
}

http::Response Handler::respond_get(const http::Request& request) const {
  const auto& snapshot = *m_snapshot;
  std::string_view path = request.path;
  if (path.size() > 1 && path.ends_with('/')) {
    path.remove_suffix(1);
    return redirect(http::percent_encode_path(path), request.query);
  }
  if (path.starts_with('/')) {
    auto key = path.substr(1);
    if (auto metadata = snapshot.metadata(key)) {
      return http::respond_stored(request, snapshot, key, *metadata, m_options.cache_control);
    }
    // Redirect targets are the author's URLs, sent as they are (article.h checked them).
    if (auto target = snapshot.redirect(key)) return redirect(*target, {});
  }
  const auto& page = snapshot.not_found_page();
  http::Response response;
  response.status = http::Status::not_found;
  response.headers.add("Content-Type", page.content_type);
  response.body = http::Body{as_bytes(page.bytes), m_snapshot};
  return response;
}

} // namespace morgana::blog
