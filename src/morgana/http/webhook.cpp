#include "morgana/http/webhook.h"

#include <bearssl.h>

#include <array>
#include <cstddef>
#include <memory>
#include <optional>

#include "morgana/core/ascii.h"
#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/rate_limiter.h"

namespace morgana::http {
namespace {

log::Source webhook_log{"webhook"};
Counter accepted_requests{"http.webhook_accepted", "webhook requests whose signature or token verified"};
Counter refused_requests{"http.webhook_refused",
                         "webhook requests refused (401): no signature, a malformed one, or the wrong one"};
Counter limited_requests{"http.webhook_limited",
                         "refused webhook requests past the limit per minute, answered 429 and not logged one by one"};

using Digest = std::array<std::byte, br_sha256_SIZE>;

constexpr std::string_view github_field = "X-Hub-Signature-256";
constexpr std::string_view gitea_field = "X-Gitea-Signature";
constexpr std::string_view gitlab_field = "X-Gitlab-Token";

Digest hmac_sha256(std::string_view secret, Bytes body) {
  br_hmac_key_context key;
  br_hmac_key_init(&key, &br_sha256_vtable, secret.data(), secret.size());
  br_hmac_context context;
  br_hmac_init(&context, &key, 0);
  br_hmac_update(&context, body.data(), body.size());
  Digest digest;
  br_hmac_out(&context, digest.data());
  return digest;
}

Digest sha256(std::string_view text) {
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, text.data(), text.size());
  Digest digest;
  br_sha256_out(&context, digest.data());
  return digest;
}

// Exactly 64 hex digits, either case.
std::optional<Digest> parse_hex_digest(std::string_view hex) {
  Digest digest;
  if (hex.size() != 2 * digest.size()) return std::nullopt;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    int high = ascii::hex_digit_value(hex[2 * i]);
    int low = ascii::hex_digit_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<std::byte>(high << 4 | low);
  }
  return digest;
}

// One field's verdict: the signature (or token) it holds against the secret.
WebhookVerdict check_field(std::string_view field, std::string_view value, Bytes body, std::string_view secret) {
  if (field == gitlab_field) {
    // Hashing both sides first: the same length, so the comparison's time does not reveal the secret's.
    return equal_in_constant_time(sha256(value), sha256(secret)) ? WebhookVerdict::accepted : WebhookVerdict::mismatch;
  }
  if (field == github_field) {
    if (!value.starts_with("sha256=")) return WebhookVerdict::malformed;
    value.remove_prefix(7);
  }
  auto signature = parse_hex_digest(value);
  if (!signature) return WebhookVerdict::malformed;
  return equal_in_constant_time(*signature, hmac_sha256(secret, body)) ? WebhookVerdict::accepted
                                                                       : WebhookVerdict::mismatch;
}

} // namespace

bool equal_in_constant_time(Bytes a, Bytes b) {
  if (a.size() != b.size()) return false;
  unsigned difference = 0;
  for (std::size_t i = 0; i < a.size(); ++i) difference |= static_cast<unsigned>(a[i] ^ b[i]);
  return difference == 0;
}

WebhookCheck verify_webhook(const Headers& headers, Bytes body, std::string_view secret) {
  if (secret.empty()) return {WebhookVerdict::mismatch, {}};
  WebhookCheck result;
  for (auto field : {github_field, gitea_field, gitlab_field}) {
    auto count = headers.count(field);
    if (count == 0) continue;
    auto verdict = count > 1 ? WebhookVerdict::malformed : check_field(field, *headers.get(field), body, secret);
    if (verdict != WebhookVerdict::accepted) return {verdict, field};
    result = {WebhookVerdict::accepted, field};
  }
  return result;
}

std::string_view verdict_name(WebhookVerdict verdict) {
  switch (verdict) {
  case WebhookVerdict::accepted: return "accepted";
  case WebhookVerdict::unsigned_request: return "no signature";
  case WebhookVerdict::malformed: return "malformed signature";
  case WebhookVerdict::mismatch: return "wrong signature";
  }
  return "?";
}

namespace {

struct WebhookRoute {
  std::string secret;
  std::function<void()> on_accepted;
  // Refusals answered 401 and logged; past these, 429 and one log line per interval.
  RateLimiter refusals{webhook_refusal_interval, webhook_refusals_per_interval};
  bool limit_logged = false;
};

// A plain function, not a capturing coroutine lambda: the frame holds what it
// needs, not a pointer into a closure that a Router may move.
Task<Response> answer_webhook(std::shared_ptr<WebhookRoute> route, Request& request) {
  // Always verified, also under a flood of forgeries: its cost is bounded by the body's limit, and a
  // forge's real delivery must still get through.
  auto check = verify_webhook(request.headers, request.body, route->secret);
  if (check.verdict != WebhookVerdict::accepted) {
    refused_requests.increment();
    if (!route->refusals.try_now()) {
      limited_requests.increment();
      if (!route->limit_logged) {
        webhook_log.warn("{} {}: more than {} refused webhook requests this minute; answering 429 without logging each",
                         request.remote, request.path, webhook_refusals_per_interval);
        route->limit_logged = true;
      }
      auto response = Response::text(Status::too_many_requests, "429 Too Many Requests: too many refused webhooks\n");
      response.headers.set("Retry-After", "60");
      co_return response;
    }
    route->limit_logged = false;
    webhook_log.warn("{} {}: refused, {}{}{}", request.remote, request.path, verdict_name(check.verdict),
                     check.field.empty() ? "" : " in ", check.field);
    auto response =
        Response::text(Status::unauthorized, "401 Unauthorized: " + std::string(verdict_name(check.verdict)) + "\n");
    // RFC 9110 §15.5.2 asks a 401 for a challenge; there is no registered scheme for signed bodies.
    response.headers.set("WWW-Authenticate", "HMAC-SHA256 realm=\"webhook\"");
    co_return response;
  }
  accepted_requests.increment();
  webhook_log.info("{} {}: accepted ({})", request.remote, request.path, check.field);
  route->on_accepted();
  co_return Response::text(Status::accepted, "202 Accepted\n");
}

} // namespace

Handler webhook_handler(std::string secret, std::function<void()> on_accepted) {
  auto route = std::make_shared<WebhookRoute>(std::move(secret), std::move(on_accepted));
  return [route](Request& request) { return answer_webhook(route, request); };
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

} // namespace morgana::http
