#pragma once

// Absolute http and https URLs (RFC 3986, RFC 9110 §4.2) as the HTTP client
// uses them: scheme, host, port and the request-target (path and query). The
// fragment is dropped (RFC 9110 §4.2.5: never sent). Userinfo is rejected
// (RFC 9110 §4.2.4 deprecates it); IPv6 literals are not supported, as the
// network stack is IPv4 only.
//
//   auto url = TRY(Url::parse("https://example.org:8443/a/b?c=d#top"));
//   url.host == "example.org", url.port == 8443, url.target == "/a/b?c=d"
//   auto next = TRY(url.resolve("../x")); // https://example.org:8443/x

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::http {

enum class Scheme : std::uint8_t { http, https };

[[nodiscard]] constexpr std::uint16_t default_port(Scheme scheme) { return scheme == Scheme::https ? 443 : 80; }
[[nodiscard]] constexpr std::string_view scheme_name(Scheme scheme) {
  return scheme == Scheme::https ? "https" : "http";
}

struct Url {
  Scheme scheme = Scheme::http;
  // A lower-case reg-name ("example.org") or a dotted IPv4 address.
  std::string host;
  std::uint16_t port = 80;
  // path-abempty plus "?query" as written (percent-encoding kept); "/" when
  // the path is empty (RFC 9112 §3.2.1).
  std::string target;

  // Errors, each with a sentence as context: Errc::invalid_argument for a
  // relative reference, a scheme other than http/https, userinfo, an empty or
  // malformed host, a bad port, or a character that has no place in a URL;
  // Errc::unsupported for an IPv6 or IPvFuture literal.
  [[nodiscard]] static Result<Url> parse(std::string_view text);

  // The URL a reference (a Location field value, RFC 9110 §10.2.2) points to,
  // relative to this one (RFC 3986 §5.2, dot segments removed).
  [[nodiscard]] Result<Url> resolve(std::string_view reference) const;

  // The host as an IPv4 address, when it is a literal.
  [[nodiscard]] std::optional<net::Ipv4Address> address() const;
  // host[:port] for the Host field (RFC 9110 §7.2): the port only when it is
  // not the scheme's default.
  [[nodiscard]] std::string authority() const;
  // The path without the query.
  [[nodiscard]] std::string_view path() const;
  // "https://example.org:8443/a?b" (the default port left out).
  [[nodiscard]] std::string to_string() const;
  void format(FormatSink& sink) const;

  friend bool operator==(const Url&, const Url&) = default;
};

// Removes "." and ".." segments from a path (RFC 3986 §5.2.4).
[[nodiscard]] std::string remove_dot_segments(std::string_view path);

} // namespace morgana::http
