#pragma once

// Webhooks authenticated with a shared secret, as forges send them on a push:
//
//   GitHub        X-Hub-Signature-256: sha256=<hex of HMAC-SHA256(secret, body)>
//   Gitea/Forgejo X-Gitea-Signature: <hex of HMAC-SHA256(secret, body)>
//   GitLab        X-Gitlab-Token: <the secret itself>
//
// Every one of these fields a request carries must verify, and at least one
// must be there: Gitea also sends X-Hub-Signature-256, and a request that
// passes one check while failing another is refused. Hex is exactly 64
// digits (either case); a field given twice is refused. Comparisons take the
// same time wherever the first difference is, and GitLab's token is compared
// through SHA-256 so that its length does not show either.
//
//   router.add("POST", "/hooks/push", http::webhook_handler(secret, [&] { follower.request(); }));
//
// The body is what the server read, so its limit is the server's
// ParserLimits::max_body (1 MiB by default; larger bodies get 413 unread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/core/time.h"
#include "morgana/http/headers.h"
#include "morgana/http/request.h"
#include "morgana/http/response.h"

namespace morgana::http {

enum class WebhookVerdict : std::uint8_t {
  accepted,
  unsigned_request, // none of the three fields
  malformed,        // a field twice, or not "sha256=" and 64 hex digits
  mismatch,         // a signature or token that is not the secret's
};

struct WebhookCheck {
  WebhookVerdict verdict = WebhookVerdict::unsigned_request;
  // The field that decided: the last one verified when accepted, else the one
  // refused; empty for unsigned_request.
  std::string_view field;
};

// `secret` must not be empty (an empty secret would authenticate anyone who reads this).
[[nodiscard]] WebhookCheck verify_webhook(const Headers& headers, Bytes body, std::string_view secret);

// Whether `a` and `b` hold the same bytes, in a time that depends only on
// their lengths.
[[nodiscard]] bool equal_in_constant_time(Bytes a, Bytes b);

// "accepted", "no signature", "malformed signature", "wrong signature".
[[nodiscard]] std::string_view verdict_name(WebhookVerdict verdict);

// Refused requests per interval answered 401 and logged one by one; past
// that, 429 with Retry-After and one log line (http.webhook_limited).
inline constexpr std::size_t webhook_refusals_per_interval = 10;
inline constexpr Duration webhook_refusal_interval = std::chrono::minutes(1);

// A handler for the webhook's route: 202 and `on_accepted()` when the request
// verifies (always checked, also while refusals are limited); else 401 with
// the reason, logged and counted (http.webhook_refused), or 429 past the
// limit above. `secret` must not be empty.
[[nodiscard]] Handler webhook_handler(std::string secret, std::function<void()> on_accepted);

// An application's --webhook-path and --webhook-secret checked: both or
// neither (a webhook is always authenticated), the path starting with '/'.
// A refusal is logged and is Errc::invalid_argument.
[[nodiscard]] Result<void> check_webhook_settings(std::string_view path, std::string_view secret,
                                                  const log::Source& log);

} // namespace morgana::http
