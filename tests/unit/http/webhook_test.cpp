#include "morgana/http/webhook.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "counters.h"
#include "morgana/core/event_loop.h"
#include "morgana/http/response.h"
#include "sim.h"

namespace morgana::http {
namespace {

using test_support::CounterWatch;

// GitHub's documented example ("Validating webhook deliveries").
constexpr std::string_view github_secret = "It's a Secret to Everybody";
constexpr std::string_view github_body = "Hello, World!";
constexpr std::string_view github_hex = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
// HMAC_SHA256("key", "The quick brown fox jumps over the lazy dog"), the example Wikipedia's HMAC article gives.
constexpr std::string_view fox_hex = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8";

Headers with(std::string_view name, std::string_view value) {
  Headers headers;
  headers.add(name, value);
  return headers;
}

WebhookCheck verify(const Headers& headers, std::string_view body = github_body,
                    std::string_view secret = github_secret) {
  return verify_webhook(headers, as_bytes(body), secret);
}

TEST(Webhook, AcceptsGitHubsDocumentedSignature) {
  auto check = verify(with("X-Hub-Signature-256", "sha256=" + std::string(github_hex)));
  EXPECT_EQ(check.verdict, WebhookVerdict::accepted);
  EXPECT_EQ(check.field, "X-Hub-Signature-256");
}

TEST(Webhook, AcceptsGiteaHexInEitherCase) {
  std::string upper(fox_hex);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& hex : {std::string(fox_hex), upper}) {
    auto check = verify(with("x-gitea-signature", hex), "The quick brown fox jumps over the lazy dog", "key");
    EXPECT_EQ(check.verdict, WebhookVerdict::accepted) << hex;
    EXPECT_EQ(check.field, "X-Gitea-Signature");
  }
}

TEST(Webhook, AcceptsGitLabsTokenOnlyWhenItIsTheSecret) {
  EXPECT_EQ(verify(with("X-Gitlab-Token", github_secret)).verdict, WebhookVerdict::accepted);
  EXPECT_EQ(verify(with("X-Gitlab-Token", "It's a Secret to Everybod")).verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(verify(with("X-Gitlab-Token", "It's a Secret to Everybody!")).verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(verify(with("X-Gitlab-Token", "")).verdict, WebhookVerdict::mismatch);
}

TEST(Webhook, RefusesARequestWithoutSignature) {
  auto check = verify(with("X-Hub-Signature", "sha1=0123")); // GitHub's old SHA-1 field is not accepted
  EXPECT_EQ(check.verdict, WebhookVerdict::unsigned_request);
  EXPECT_TRUE(check.field.empty());
  EXPECT_EQ(verify(Headers{}).verdict, WebhookVerdict::unsigned_request);
}

TEST(Webhook, RefusesASignatureOfAnotherBodyOrSecret) {
  auto github = with("X-Hub-Signature-256", "sha256=" + std::string(github_hex));
  EXPECT_EQ(verify(github, "Hello, World?").verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(verify(github, github_body, "It's a Secret to Everybody ").verdict, WebhookVerdict::mismatch);
  // One bit off in the last digit.
  std::string flipped(github_hex);
  flipped.back() = '6';
  auto check = verify(with("X-Hub-Signature-256", "sha256=" + flipped));
  EXPECT_EQ(check.verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(check.field, "X-Hub-Signature-256");
}

TEST(Webhook, HexIsStrict) {
  std::string hex(github_hex);
  for (const auto& value : {hex.substr(1), hex + "0", hex.substr(0, 63) + "g", " " + hex.substr(1),
                            hex.substr(0, 32) + "-" + hex.substr(33), std::string()}) {
    EXPECT_EQ(verify(with("X-Hub-Signature-256", "sha256=" + value)).verdict, WebhookVerdict::malformed) << value;
    EXPECT_EQ(verify(with("X-Gitea-Signature", value)).verdict, WebhookVerdict::malformed) << value;
  }
  // GitHub's field names its algorithm; anything else is not a SHA-256 signature.
  for (const auto& value : {hex, "sha1=" + hex, "SHA256=" + hex, "sha256:" + hex}) {
    EXPECT_EQ(verify(with("X-Hub-Signature-256", value)).verdict, WebhookVerdict::malformed) << value;
  }
}

TEST(Webhook, EveryFieldPresentMustVerify) {
  auto gitea_style = with("X-Gitea-Signature", github_hex);
  gitea_style.add("X-Hub-Signature-256", "sha256=" + std::string(github_hex));
  EXPECT_EQ(verify(gitea_style).verdict, WebhookVerdict::accepted);

  auto one_wrong = with("X-Hub-Signature-256", "sha256=" + std::string(github_hex));
  one_wrong.add("X-Gitlab-Token", "guess");
  auto check = verify(one_wrong);
  EXPECT_EQ(check.verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(check.field, "X-Gitlab-Token");

  auto twice = with("X-Gitlab-Token", github_secret);
  twice.add("X-Gitlab-Token", "guess");
  EXPECT_EQ(verify(twice).verdict, WebhookVerdict::malformed);
}

TEST(Webhook, AnEmptySecretAuthenticatesNobody) {
  EXPECT_EQ(verify(with("X-Gitlab-Token", ""), github_body, "").verdict, WebhookVerdict::mismatch);
  EXPECT_EQ(verify(Headers{}, github_body, "").verdict, WebhookVerdict::mismatch);
}

TEST(Webhook, ComparesBytes) {
  EXPECT_TRUE(equal_in_constant_time(as_bytes(std::string_view("abc")), as_bytes(std::string_view("abc"))));
  EXPECT_FALSE(equal_in_constant_time(as_bytes(std::string_view("abc")), as_bytes(std::string_view("abd"))));
  EXPECT_FALSE(equal_in_constant_time(as_bytes(std::string_view("abc")), as_bytes(std::string_view("ab"))));
  EXPECT_TRUE(equal_in_constant_time({}, {}));
}

class WebhookHandlerTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }

  Response post(const Headers& headers, std::string_view body) {
    Request request;
    request.method = "POST";
    request.path = "/hook";
    request.headers = headers;
    auto bytes = as_bytes(body);
    request.body.assign(bytes.begin(), bytes.end());
    return loop().run(m_handler(request));
  }

  int m_pulls = 0;
  Handler m_handler = webhook_handler(std::string(github_secret), [this] { ++m_pulls; });
};

TEST_F(WebhookHandlerTest, AcceptsWith202AndCallsBack) {
  CounterWatch accepted("http.webhook_accepted");
  auto response = post(with("X-Hub-Signature-256", "sha256=" + std::string(github_hex)), github_body);
  EXPECT_EQ(response.status, Status::accepted);
  EXPECT_EQ(m_pulls, 1);
  EXPECT_EQ(accepted.delta(), 1u);
}

TEST_F(WebhookHandlerTest, RefusesWith401AndCountsWithoutCallingBack) {
  CounterWatch refused("http.webhook_refused");
  auto wrong = post(with("X-Hub-Signature-256", "sha256=" + std::string(github_hex)), "Hello, World?");
  EXPECT_EQ(wrong.status, Status::unauthorized);
  EXPECT_EQ(as_string(wrong.body.data), "401 Unauthorized: wrong signature\n");
  EXPECT_TRUE(wrong.headers.contains("WWW-Authenticate"));
  EXPECT_EQ(post(Headers{}, github_body).status, Status::unauthorized);
  EXPECT_EQ(post(with("X-Gitea-Signature", "zz"), github_body).status, Status::unauthorized);
  EXPECT_EQ(m_pulls, 0);
  EXPECT_EQ(refused.delta(), 3u);
}

TEST_F(WebhookHandlerTest, RefusalsPastTheLimitGet429WhileSignedRequestsStillPass) {
  CounterWatch refused("http.webhook_refused");
  CounterWatch limited("http.webhook_limited");
  for (std::size_t i = 0; i < webhook_refusals_per_interval; ++i)
    EXPECT_EQ(post(Headers{}, github_body).status, Status::unauthorized) << i;
  auto over = post(Headers{}, github_body);
  EXPECT_EQ(over.status, Status::too_many_requests);
  EXPECT_EQ(over.headers.get("Retry-After").value_or(""), "60");
  EXPECT_EQ(limited.delta(), 1u);
  EXPECT_EQ(refused.delta(), webhook_refusals_per_interval + 1);

  // A forge's real delivery is verified and accepted all the same.
  EXPECT_EQ(post(with("X-Hub-Signature-256", "sha256=" + std::string(github_hex)), github_body).status,
            Status::accepted);
  EXPECT_EQ(m_pulls, 1);

  // The next interval answers 401 again.
  sim::advance(std::chrono::nanoseconds(webhook_refusal_interval).count());
  EXPECT_EQ(post(Headers{}, github_body).status, Status::unauthorized);
  EXPECT_EQ(limited.delta(), 1u);
}

} // namespace
} // namespace morgana::http
