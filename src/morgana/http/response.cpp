#include "morgana/http/response.h"

#include "morgana/core/format.h"

namespace morgana::http {

Body Body::from_string(std::string text) {
  auto owned = std::make_shared<const std::string>(std::move(text));
  return {as_bytes(*owned), owned};
}

Response Response::text(Status status, std::string_view text, std::string_view content_type) {
  Response response;
  response.status = status;
  response.headers.add("Content-Type", content_type);
  response.body = Body::from_string(std::string(text));
  return response;
}

Response Response::error(Status status) {
  StringBuilder<64> text;
  format_to(text, "{} {}\n", code(status), reason_phrase(status));
  return Response::text(status, text.view());
}

Response Response::redirect(Status status, std::string_view location) {
  Response response;
  response.status = status;
  response.headers.add("Location", location);
  return response;
}

} // namespace morgana::http
