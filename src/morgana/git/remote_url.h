#pragma once

// Where a remote repository lives: git://host[:port]/path (the git daemon,
// port 9418) or http(s)://[user[:password]@]host[:port]/path (smart HTTP).
// ssh:// and scp-style "host:path" are refused: this client has no SSH.
//
//   auto url = TRY(RemoteUrl::parse("git://example.org/blog.git"));
//   url.scheme == RemoteScheme::git, url.host == "example.org", url.port == 9418

#include <cstdint>
#include <string>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"

namespace morgana::git {

enum class RemoteScheme : std::uint8_t { git, http, https };

[[nodiscard]] constexpr std::uint16_t default_port(RemoteScheme scheme) {
  switch (scheme) {
  case RemoteScheme::git: return 9418;
  case RemoteScheme::http: return 80;
  case RemoteScheme::https: return 443;
  }
  return 0;
}

struct RemoteUrl {
  RemoteScheme scheme = RemoteScheme::git;
  std::string host; // lower case: a reg-name or a dotted IPv4 address
  std::uint16_t port = 9418;
  std::string path; // "/blog.git", as written (percent-encoding kept)
  std::string user; // http(s) only; empty when none
  std::string password;

  // Errc::unsupported, with a sentence as context, for ssh://, scp-style and
  // other schemes and for IPv6 literals; Errc::invalid_argument for a
  // malformed URL (empty host, bad port, no path, a query or fragment,
  // userinfo in a git:// URL, spaces or control bytes).
  [[nodiscard]] static Result<RemoteUrl> parse(std::string_view text);

  // "scheme://host[:port]/path" without the userinfo (the port only when not
  // the default): what logs show and the HTTP transport starts from.
  [[nodiscard]] std::string to_string() const;
  void format(FormatSink& sink) const;

  friend bool operator==(const RemoteUrl&, const RemoteUrl&) = default;
};

} // namespace morgana::git
