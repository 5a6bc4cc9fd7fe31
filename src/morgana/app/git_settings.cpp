#include "morgana/app/git_settings.h"

namespace morgana::app {

Result<git::RemoteUrl> checked_remote(const std::optional<std::string_view>& remote, bool have_trust_anchors,
                                      const log::Source& log) {
  if (!remote) {
    log.error("--remote=URL is required: git://HOST[:PORT]/PATH, http:// or https://");
    return fail(Errc::invalid_argument, "no --remote");
  }
  auto url = git::RemoteUrl::parse(*remote);
  if (!url) {
    log.error("--remote={}: {}", *remote, url.error().context);
    // A bad argument whatever the reason (ssh:// is Errc::unsupported): exit status 2.
    return fail(Errc::invalid_argument, url.error().context);
  }
  if (url->scheme == git::RemoteScheme::https && !have_trust_anchors) {
    log.error("--remote={}: https needs trust anchors; give the CA's .pem files with ./morgana configure "
              "APP-DIR --crunch ca=DIR (or on hosted, boot with --store=ca=DIR)",
              *url);
    return fail(Errc::invalid_argument, "https remote without trust anchors");
  }
  return url;
}

Result<void> check_webhook_settings(std::string_view path, std::string_view secret, const log::Source& log) {
  // A webhook without a secret would let anyone make the site pull: refused at boot rather than served open.
  if (path.empty() != secret.empty()) {
    log.error("--webhook-path and --webhook-secret go together (a webhook is always authenticated)");
    return fail(Errc::invalid_argument, "--webhook-path without --webhook-secret, or the reverse");
  }
  if (!path.empty() && !path.starts_with('/')) {
    log.error("--webhook-path={}: expected a path starting with '/'", path);
    return fail(Errc::invalid_argument, "--webhook-path is not a path");
  }
  return {};
}

} // namespace morgana::app
