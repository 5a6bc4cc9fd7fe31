#include "morgana/http/target.h"

#include "morgana/core/ascii.h"
#include "morgana/http/headers.h"

namespace morgana::http {
namespace {

bool starts_with_scheme(std::string_view target, std::string_view scheme) {
  return target.size() > scheme.size() && ascii::starts_with_ignoring_case(target, scheme);
}

// Removes the last segment (and its '/') from `output` (RFC 3986 §5.2.4 step 2C).
void remove_last_segment(std::string& output) {
  auto slash = output.rfind('/');
  output.resize(slash == std::string::npos ? 0 : slash);
}

} // namespace

ParseResult<RequestTarget> parse_request_target(std::string_view target, std::string_view method) {
  RequestTarget result;
  if (target == "*") {
    if (method != "OPTIONS") return reject(Status::bad_request, "asterisk-form outside OPTIONS");
    result.form = TargetForm::asterisk;
    result.path = target;
    return result;
  }
  std::string_view rest = target;
  if (!target.starts_with('/')) {
    // Absolute-form (RFC 9112 §3.2.2): the authority replaces Host.
    std::size_t scheme_length = 0;
    if (starts_with_scheme(target, "http://")) scheme_length = 7;
    else if (starts_with_scheme(target, "https://")) scheme_length = 8;
    else return reject(Status::bad_request, "unsupported request-target form");
    rest = target.substr(scheme_length);
    auto end = rest.find_first_of("/?#");
    result.authority = rest.substr(0, end);
    if (result.authority.empty() || result.authority.find('@') != std::string_view::npos ||
        !is_valid_host(result.authority)) {
      return reject(Status::bad_request, "bad authority in absolute-form");
    }
    rest = end == std::string_view::npos ? std::string_view("/") : rest.substr(end);
    if (rest.starts_with('?')) return reject(Status::bad_request, "absolute-form without a path");
    result.form = TargetForm::absolute;
  }
  if (rest.find('#') != std::string_view::npos) return reject(Status::bad_request, "fragment in request-target");
  auto question = rest.find('?');
  result.path = rest.substr(0, question);
  if (question != std::string_view::npos) result.query = rest.substr(question + 1);
  return result;
}

bool is_valid_host(std::string_view host) {
  if (host.empty()) return false;
  std::string_view name = host;
  if (host.front() == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!ascii::is_hex_digit(c) && c != ':' && c != '.') return false;
    }
    name = {};
    host.remove_prefix(close + 1);
    if (!host.empty() && host.front() != ':') return false;
  } else {
    auto colon = host.find(':');
    name = host.substr(0, colon);
    host = colon == std::string_view::npos ? std::string_view() : host.substr(colon);
  }
  for (char c : name) {
    // reg-name: unreserved / pct-encoded / sub-delims (RFC 3986 §3.2.2)
    bool allowed = ascii::is_alnum(c) || std::string_view("-._~%!$&'()*+,;=").find(c) != std::string_view::npos;
    if (!allowed) return false;
  }
  if (!host.empty()) {
    // ":" port, port = *DIGIT
    for (char c : host.substr(1)) {
      if (!ascii::is_digit(c)) return false;
    }
  }
  return true;
}

std::string percent_encode_path(std::string_view path) {
  constexpr std::string_view digits = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (ascii::is_alnum(c) || std::string_view("-._~!$&'()*+,;=:@/").find(c) != std::string_view::npos) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += digits[byte >> 4];
      out += digits[byte & 0x0f];
    }
  }
  return out;
}

Result<std::string> percent_decode(std::string_view text, bool plus_as_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return fail(Errc::malformed, "truncated escape");
      int high = ascii::hex_digit_value(text[i + 1]);
      int low = ascii::hex_digit_value(text[i + 2]);
      if (high < 0 || low < 0) return fail(Errc::malformed, "bad escape");
      c = static_cast<char>(high * 16 + low);
      if (c == '\0') return fail(Errc::malformed, "encoded NUL");
      i += 2;
    } else if (c == '+' && plus_as_space) {
      c = ' ';
    } else if (c == '\0') {
      return fail(Errc::malformed, "NUL");
    }
    out += c;
  }
  return out;
}

Result<std::string> normalize_path(std::string_view raw_path) {
  if (!raw_path.starts_with('/')) return fail(Errc::malformed, "path without a leading '/'");
  for (std::size_t i = 0; i + 2 < raw_path.size(); ++i) {
    if (raw_path[i] == '%' && raw_path[i + 1] == '2' && (raw_path[i + 2] == 'f' || raw_path[i + 2] == 'F')) {
      return fail(Errc::malformed, "encoded '/'");
    }
  }
  auto decoded = TRY(percent_decode(raw_path));
  // Decoding adds no '/', so the decoded segments are the raw ones (RFC 3986 §5.2.4).
  std::string output;
  output.reserve(decoded.size());
  std::string_view input = decoded;
  while (!input.empty()) {
    if (input.starts_with("/./")) {
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../")) {
      input.remove_prefix(3);
      remove_last_segment(output);
    } else if (input == "/..") {
      input = "/";
      remove_last_segment(output);
    } else {
      auto next = input.find('/', 1);
      output.append(input.substr(0, next));
      input = next == std::string_view::npos ? std::string_view() : input.substr(next);
    }
  }
  if (output.empty()) output = "/";
  return output;
}

} // namespace morgana::http
