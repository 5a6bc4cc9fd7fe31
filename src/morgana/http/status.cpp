#include "morgana/http/status.h"

namespace morgana::http {

std::string_view reason_phrase(Status status) {
  switch (status) {
  case Status::continue_: return "Continue";
  case Status::ok: return "OK";
  case Status::created: return "Created";
  case Status::accepted: return "Accepted";
  case Status::no_content: return "No Content";
  case Status::partial_content: return "Partial Content";
  case Status::moved_permanently: return "Moved Permanently";
  case Status::found: return "Found";
  case Status::see_other: return "See Other";
  case Status::not_modified: return "Not Modified";
  case Status::temporary_redirect: return "Temporary Redirect";
  case Status::permanent_redirect: return "Permanent Redirect";
  case Status::bad_request: return "Bad Request";
  case Status::unauthorized: return "Unauthorized";
  case Status::forbidden: return "Forbidden";
  case Status::not_found: return "Not Found";
  case Status::method_not_allowed: return "Method Not Allowed";
  case Status::request_timeout: return "Request Timeout";
  case Status::length_required: return "Length Required";
  case Status::precondition_failed: return "Precondition Failed";
  case Status::content_too_large: return "Content Too Large";
  case Status::uri_too_long: return "URI Too Long";
  case Status::range_not_satisfiable: return "Range Not Satisfiable";
  case Status::expectation_failed: return "Expectation Failed";
  case Status::too_many_requests: return "Too Many Requests";
  case Status::request_header_fields_too_large: return "Request Header Fields Too Large";
  case Status::internal_server_error: return "Internal Server Error";
  case Status::not_implemented: return "Not Implemented";
  case Status::bad_gateway: return "Bad Gateway";
  case Status::service_unavailable: return "Service Unavailable";
  case Status::http_version_not_supported: return "HTTP Version Not Supported";
  }
  return "";
}

} // namespace morgana::http
