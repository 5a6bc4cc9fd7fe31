#include "morgana/git/remote_url.h"

#include "morgana/core/ascii.h"

namespace morgana::git {

namespace {

constexpr std::string_view only_git_and_http =
    "only git:// and http(s):// remotes are supported (no ssh:// or scp-style host:path)";

bool is_host_char(char c) { return ascii::is_alnum(c) || c == '-' || c == '.' || c == '_'; }

bool is_path_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte != 0x7f && c != '?' && c != '#' && c != '\\';
}

Result<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return fail(Errc::invalid_argument, "the port is not a number from 1 to 65535");
  std::uint32_t port = 0;
  for (char c : text) {
    if (!ascii::is_digit(c)) return fail(Errc::invalid_argument, "the port is not a number from 1 to 65535");
    port = port * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return fail(Errc::invalid_argument, "the port is not a number from 1 to 65535");
  return static_cast<std::uint16_t>(port);
}

} // namespace

Result<RemoteUrl> RemoteUrl::parse(std::string_view text) {
  auto separator = text.find("://");
  if (separator == std::string_view::npos) return fail(Errc::unsupported, only_git_and_http);
  auto scheme = text.substr(0, separator);
  RemoteUrl url;
  if (ascii::equals_ignoring_case(scheme, "git")) url.scheme = RemoteScheme::git;
  else if (ascii::equals_ignoring_case(scheme, "http")) url.scheme = RemoteScheme::http;
  else if (ascii::equals_ignoring_case(scheme, "https")) url.scheme = RemoteScheme::https;
  else return fail(Errc::unsupported, only_git_and_http);
  url.port = default_port(url.scheme);

  auto rest = text.substr(separator + 3);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return fail(Errc::invalid_argument, "the URL has no repository path");
  auto authority = rest.substr(0, slash);
  url.path = rest.substr(slash);

  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (url.scheme == RemoteScheme::git) return fail(Errc::invalid_argument, "a git:// URL has no user or password");
    auto userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    auto colon = userinfo.find(':');
    url.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) url.password = userinfo.substr(colon + 1);
    if (url.user.empty()) return fail(Errc::invalid_argument, "the URL's userinfo has an empty user name");
  }
  if (authority.starts_with('[')) return fail(Errc::unsupported, "IPv6 addresses are not supported");
  auto host = authority;
  if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    url.port = TRY(parse_port(authority.substr(colon + 1)));
  }
  if (host.empty()) return fail(Errc::invalid_argument, "the URL has no host");
  for (char c : host) {
    if (!is_host_char(c)) return fail(Errc::invalid_argument, "the host holds a character a host name cannot");
    url.host.push_back(ascii::to_lower(c));
  }
  if (url.path.size() < 2) return fail(Errc::invalid_argument, "the URL has no repository path");
  for (char c : url.path) {
    if (!is_path_char(c))
      return fail(Errc::invalid_argument, "the path holds a space, control byte, query or fragment");
  }
  for (const auto* part : {&url.user, &url.password}) {
    for (char c : *part) {
      if (!is_path_char(c) || c == '/') return fail(Errc::invalid_argument, "the userinfo holds a bad character");
    }
  }
  return url;
}

std::string RemoteUrl::to_string() const { return format_string("{}", *this); }

void RemoteUrl::format(FormatSink& sink) const {
  static constexpr std::string_view names[] = {"git", "http", "https"};
  format_to(sink, "{}://{}", names[static_cast<int>(scheme)], host);
  if (port != default_port(scheme)) format_to(sink, ":{}", port);
  sink.write(path);
}

} // namespace morgana::git
