#pragma once

// The settings of an application that follows a git remote (git-site, the
// blog), checked before anything starts: --remote and the webhook's pair.

#include <optional>
#include <string_view>

#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/git/remote_url.h"

namespace morgana::app {

// --remote parsed; https only with trust anchors to check the server. Every
// refusal is logged and is Errc::invalid_argument (a bad argument: exit status 2).
[[nodiscard]] Result<git::RemoteUrl> checked_remote(const std::optional<std::string_view>& remote,
                                                    bool have_trust_anchors, const log::Source& log);

// --webhook-path and --webhook-secret: both or neither (a webhook is always
// authenticated), the path starting with '/'.
[[nodiscard]] Result<void> check_webhook_settings(std::string_view path, std::string_view secret,
                                                  const log::Source& log);

} // namespace morgana::app
