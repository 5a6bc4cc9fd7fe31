#include "morgana/http/router.h"

#include <algorithm>

namespace morgana::http {

void Router::add(std::string_view method, std::string_view path, Handler handler) {
  m_routes.push_back({std::string(method), std::string(path), false, std::move(handler)});
}

void Router::add_prefix(std::string_view method, std::string_view prefix, Handler handler) {
  m_routes.push_back({std::string(method), std::string(prefix), true, std::move(handler)});
}

std::vector<const Router::Route*> Router::matching(std::string_view path) const {
  std::vector<const Route*> routes;
  for (const auto& route : m_routes) {
    if (route.prefix ? path.starts_with(route.path) : path == route.path) routes.push_back(&route);
  }
  // Exact before prefix, longer prefix first, then in the order added.
  std::ranges::sort(routes, [](const Route* a, const Route* b) {
    if (a->prefix != b->prefix) return !a->prefix;
    if (a->path.size() != b->path.size()) return a->path.size() > b->path.size();
    return a < b;
  });
  return routes;
}

Task<Response> Router::handle(Request& request) const {
  auto routes = matching(request.path);
  for (const auto* route : routes) {
    if (route->method == request.method || (request.method == "HEAD" && route->method == "GET")) {
      co_return co_await route->handler(request);
    }
  }
  if (routes.empty()) co_return Response::error(Status::not_found);
  std::vector<std::string_view> methods;
  auto allow_method = [&methods](std::string_view method) {
    if (std::ranges::find(methods, method) == methods.end()) methods.push_back(method);
  };
  for (const auto* route : routes) {
    allow_method(route->method);
    if (route->method == "GET") allow_method("HEAD");
  }
  allow_method("OPTIONS");
  std::string allow;
  for (auto method : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  Response response;
  if (request.method == "OPTIONS") {
    response.status = Status::no_content;
  } else {
    response = Response::error(Status::method_not_allowed);
  }
  response.headers.add("Allow", allow);
  co_return response;
}

Handler Router::handler() const {
  return [this](Request& request) { return handle(request); };
}

} // namespace morgana::http
