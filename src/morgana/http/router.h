#pragma once

// Routes requests by method and path to handlers: exact paths, or prefixes
// (the longest wins; an exact path beats any prefix). No route: 404. A path
// that has routes, but none for the method: 405 with Allow (RFC 9110
// §15.5.6). HEAD uses GET's handler (RFC 9110 §9.3.2) and OPTIONS without a
// route of its own answers 204 with Allow.

#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/task.h"
#include "morgana/http/request.h"
#include "morgana/http/response.h"

namespace morgana::http {

class Router {
public:
  void add(std::string_view method, std::string_view path, Handler handler);
  // Matches every path that starts with `prefix` (e.g. "/static/", or "/" for all).
  void add_prefix(std::string_view method, std::string_view prefix, Handler handler);

  [[nodiscard]] Task<Response> handle(Request& request) const;
  // A Handler for the Server; the Router must outlive it.
  [[nodiscard]] Handler handler() const;

private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    Handler handler;
  };
  // Routes matching `path`, most specific first.
  [[nodiscard]] std::vector<const Route*> matching(std::string_view path) const;

  std::vector<Route> m_routes;
};

} // namespace morgana::http
