#include "morgana/http/url.h"

#include <algorithm>

#include "morgana/core/ascii.h"

namespace morgana::http {
namespace {

using ascii::is_alnum;
using ascii::is_alpha;
using ascii::is_digit;
using ascii::is_hex_digit;
using ascii::to_lower;

// unreserved, gen-delims and sub-delims (RFC 3986 §2.2, §2.3); '%' is checked apart.
bool is_uri_char(char c) {
  if (is_alnum(c)) return true;
  return std::string_view("-._~:/?#[]@!$&'()*+,;=").find(c) != std::string_view::npos;
}

// Every character allowed somewhere in a URI, and '%' only before two hex digits (RFC 3986 §2.1).
Result<void> check_characters(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex_digit(text[i + 1]) || !is_hex_digit(text[i + 2])) {
        return fail(Errc::invalid_argument, "bad percent-encoding in URL");
      }
      i += 2;
    } else if (!is_uri_char(c)) {
      return fail(Errc::invalid_argument,
                  "character not allowed in URL (space, control, non-ASCII or one of \"<>\\^`{|})");
    }
  }
  return {};
}

// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':' (RFC 3986 §3.1); its length or npos.
std::size_t scheme_length(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) return std::string_view::npos;
  for (char c : text.substr(0, colon)) {
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return std::string_view::npos;
  }
  return colon;
}

Result<std::uint16_t> parse_port(std::string_view digits, Scheme scheme) {
  // port = *DIGIT (RFC 3986 §3.2.3): empty means the default.
  if (digits.empty()) return default_port(scheme);
  if (digits.size() > 5) return fail(Errc::invalid_argument, "URL port out of range");
  std::uint32_t port = 0;
  for (char c : digits) {
    if (!is_digit(c)) return fail(Errc::invalid_argument, "URL port is not a number");
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return fail(Errc::invalid_argument, "URL port out of range");
  return static_cast<std::uint16_t>(port);
}

// The host of an http(s) URL: an IPv4 literal or a DNS name (RFC 3986 §3.2.2, RFC 1123 §2.1).
Result<std::string> parse_host(std::string_view text) {
  if (text.empty()) return fail(Errc::invalid_argument, "URL has an empty host");
  if (text.front() == '[') return fail(Errc::unsupported, "IPv6 address literals in URLs are not supported");
  bool numeric = std::ranges::all_of(text, [](char c) { return is_digit(c) || c == '.'; });
  if (numeric) {
    if (!net::parse_ipv4(text)) return fail(Errc::invalid_argument, "bad IPv4 address in URL");
    return std::string(text);
  }
  std::string host;
  host.reserve(text.size());
  std::size_t label = 0;
  for (char c : text) {
    if (c == '.') {
      if (label == 0) return fail(Errc::invalid_argument, "empty label in URL host");
      label = 0;
    } else if (is_alnum(c) || c == '-' || c == '_') {
      if (++label > 63) return fail(Errc::invalid_argument, "URL host label longer than 63 characters");
    } else {
      return fail(Errc::invalid_argument, "character not allowed in URL host");
    }
    host.push_back(to_lower(c));
  }
  if (label == 0) return fail(Errc::invalid_argument, "empty label in URL host");
  if (host.size() > 253) return fail(Errc::invalid_argument, "URL host longer than 253 characters");
  return host;
}

void pop_last_segment(std::string& output) {
  auto slash = output.rfind('/');
  output.erase(slash == std::string::npos ? 0 : slash);
}

} // namespace

std::string remove_dot_segments(std::string_view input) {
  std::string output;
  output.reserve(input.size());
  while (!input.empty()) {
    if (input.starts_with("../")) {
      input.remove_prefix(3);
    } else if (input.starts_with("./") || input.starts_with("/./")) {
      // "./" goes; "/./" becomes "/".
      input.remove_prefix(2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.starts_with("/../")) {
      input.remove_prefix(3);
      pop_last_segment(output);
    } else if (input == "/..") {
      input = "/";
      pop_last_segment(output);
    } else if (input == "." || input == "..") {
      input = {};
    } else {
      auto end = input.find('/', 1);
      if (end == std::string_view::npos) end = input.size();
      output.append(input.substr(0, end));
      input.remove_prefix(end);
    }
  }
  return output;
}

Result<Url> Url::parse(std::string_view text) {
  // RFC 9110 §4.2.5: the fragment stays with the client, never sent.
  text = text.substr(0, text.find('#'));
  TRY(check_characters(text));
  auto colon = scheme_length(text);
  auto slash = text.find_first_of("/?");
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon)) {
    return fail(Errc::invalid_argument, "URL is not absolute (expected http:// or https://)");
  }
  Url url;
  std::string scheme;
  for (char c : text.substr(0, colon)) scheme.push_back(to_lower(c));
  if (scheme == "https") {
    url.scheme = Scheme::https;
  } else if (scheme != "http") {
    return fail(Errc::invalid_argument, "URL scheme is not http or https");
  }
  auto rest = text.substr(colon + 1);
  // RFC 9110 §4.2.1: http(s) URIs have an authority.
  if (!rest.starts_with("//"))
    return fail(Errc::invalid_argument, "URL has no host (expected //host after the scheme)");
  rest.remove_prefix(2);
  auto authority_end = std::min(rest.find_first_of("/?"), rest.size());
  auto authority = rest.substr(0, authority_end);
  auto target = rest.substr(authority_end);
  // RFC 9110 §4.2.4: userinfo is deprecated in http(s) URIs.
  if (authority.find('@') != std::string_view::npos) {
    return fail(Errc::invalid_argument, "URL userinfo (user:password@) is not supported");
  }
  if (authority.starts_with('[')) return fail(Errc::unsupported, "IPv6 address literals in URLs are not supported");
  auto port_colon = authority.rfind(':');
  auto host_text = authority.substr(0, port_colon);
  url.port = default_port(url.scheme);
  if (port_colon != std::string_view::npos) url.port = TRY(parse_port(authority.substr(port_colon + 1), url.scheme));
  url.host = TRY(parse_host(host_text));
  if (target.find_first_of("[]") != std::string_view::npos) {
    return fail(Errc::invalid_argument, "character not allowed in URL path or query");
  }
  // RFC 9112 §3.2.1: an empty path is sent as "/".
  url.target = target.starts_with('/') ? std::string(target) : "/" + std::string(target);
  return url;
}

Result<Url> Url::resolve(std::string_view reference) const {
  reference = reference.substr(0, reference.find('#'));
  auto colon = scheme_length(reference);
  auto slash = reference.find_first_of("/?");
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash)) {
    auto url = TRY(parse(reference));
    auto query = url.target.find('?');
    url.target = remove_dot_segments(std::string_view(url.target).substr(0, query)) +
                 (query == std::string::npos ? std::string() : url.target.substr(query));
    return url;
  }
  // RFC 3986 §5.2.2: a network-path reference keeps only the scheme.
  if (reference.starts_with("//")) return resolve(std::string(scheme_name(scheme)) + ":" + std::string(reference));
  TRY(check_characters(reference));
  auto query_start = reference.find('?');
  auto reference_path = reference.substr(0, query_start);
  auto reference_query = query_start == std::string_view::npos ? std::string_view{} : reference.substr(query_start);
  Url url = *this;
  std::string path;
  if (reference_path.empty()) {
    path = std::string(this->path());
    // Neither path nor query: the base's query stays (RFC 3986 §5.2.2).
    if (reference_query.empty()) return url;
  } else if (reference_path.starts_with('/')) {
    path = remove_dot_segments(reference_path);
  } else {
    // RFC 3986 §5.2.3: merge with the base path up to its last '/'.
    auto base = this->path();
    auto merged = std::string(base.substr(0, base.rfind('/') + 1)) + std::string(reference_path);
    path = remove_dot_segments(merged);
  }
  if (path.empty() || path.front() != '/') path.insert(path.begin(), '/');
  url.target = path + std::string(reference_query);
  if (url.target.find_first_of("[]") != std::string::npos) {
    return fail(Errc::invalid_argument, "character not allowed in URL path or query");
  }
  return url;
}

std::optional<net::Ipv4Address> Url::address() const {
  auto parsed = net::parse_ipv4(host);
  if (!parsed) return std::nullopt;
  return *parsed;
}

std::string Url::authority() const {
  if (port == default_port(scheme)) return host;
  StringBuilder<16> digits;
  format_to(digits, "{}", port);
  return host + ":" + std::string(digits.view());
}

std::string_view Url::path() const {
  std::string_view view(target);
  return view.substr(0, view.find('?'));
}

std::string Url::to_string() const { return std::string(scheme_name(scheme)) + "://" + authority() + target; }

void Url::format(FormatSink& sink) const {
  sink.write(scheme_name(scheme));
  sink.write("://");
  sink.write(host);
  if (port != default_port(scheme)) format_to(sink, ":{}", port);
  sink.write(target);
}

} // namespace morgana::http
