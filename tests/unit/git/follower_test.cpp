// The follower over scripted remotes in virtual time: the boot's backoff
// until the remote answers, requests that coalesce into one pull, a head the
// application refuses (the old one stays and the head is offered again), a
// new head handed over with its tree and dates, and periodic pulls.

#include "morgana/git/follower.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fixtures.h"
#include "git_captures.h"
#include "morgana/core/event_loop.h"
#include "scripted_transport.h"
#include "sim.h"

namespace morgana::git {
namespace {

using namespace std::chrono_literals;
using test::fetch_response;
using test::ls_refs_response;
using test::ScriptedTransport;

ObjectId id(std::string_view hex) { return *ObjectId::parse_hex(hex); }

Counter test_pulls{"test.follower.pulls", "pulls the follower tests started"};
Counter test_pulls_failed{"test.follower.pulls_failed", "pulls that failed in the follower tests"};
Counter test_heads_served{"test.follower.heads_served", "heads the follower tests accepted"};

class GitFollowerTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override {
    follower.reset();
    loop().destroy_spawned();
  }

  // The remote as the next connection finds it: down, or at `remote_head` sending `remote_pack` when asked.
  Result<std::unique_ptr<Transport>> open() {
    ++opens;
    for (; requests_during_next_pull > 0; --requests_during_next_pull) follower->request();
    if (remote_down) return fail(Errc::unreachable, "no route to the remote");
    auto transport = std::make_unique<ScriptedTransport>();
    transport->advertisement_v2 = captured::v2_advertisement;
    transport->responses = {ls_refs_response(remote_head), fetch_response(*remote_pack)};
    transport->chunk = 300;
    return transport;
  }

  void make_follower(Duration interval = {}) {
    follower.emplace(
        [this] { return open(); }, "scripted://remote",
        FollowerOptions{
            .interval = interval,
            .timeout = 10s,
            .first_retry = 1s,
            .longest_retry = 4s,
            .counters = {.pulls = &test_pulls, .pulls_failed = &test_pulls_failed, .heads_served = &test_heads_served}},
        [this](const FollowedHead& head) -> Result<void> {
          offered.push_back(head.head);
          EXPECT_EQ(head.tree->commit(), head.head);
          EXPECT_EQ(head.repository.head(), head.head);
          if (refuse) return fail(Errc::invalid_argument, "refused by the test");
          accepted_files = head.tree->size();
          const auto* dates = head.history.find("README.md");
          readme_created = dates ? std::optional(dates->created) : std::nullopt;
          return {};
        },
        log);
    follower->start();
  }

  // Lets virtual time pass (the loop jumps from deadline to deadline).
  void pass(Duration duration) {
    ASSERT_TRUE(loop().run([](Duration d) -> Task<Result<void>> { co_return co_await sleep_for(d); }(duration)));
  }

  // The counters' increments since the test started.
  std::uint64_t pulls() const { return test_pulls.value() - pulls_before; }
  std::uint64_t pulls_failed() const { return test_pulls_failed.value() - pulls_failed_before; }
  std::uint64_t heads_served() const { return test_heads_served.value() - heads_served_before; }

  log::Source log{"follower-test"};
  std::uint64_t pulls_before = test_pulls.value();
  std::uint64_t pulls_failed_before = test_pulls_failed.value();
  std::uint64_t heads_served_before = test_heads_served.value();
  bool remote_down = false;
  std::string remote_head{fixtures::merge_commit_id};
  const std::vector<std::byte>* remote_pack = &fixtures::pack_base;
  int requests_during_next_pull = 0; // webhooks arriving while the next pull runs
  bool refuse = false;

  int opens = 0;
  std::vector<ObjectId> offered;
  std::size_t accepted_files = 0;
  std::optional<WallClock::time_point> readme_created;
  std::optional<Follower> follower;
};

TEST_F(GitFollowerTest, RetriesWithBackoffUntilTheRemoteAnswers) {
  remote_down = true;
  make_follower();
  pass(500ms); // attempt at 0 s
  EXPECT_EQ(opens, 1);
  EXPECT_FALSE(follower->serving());
  EXPECT_EQ(follower->retry_after_seconds(), 1u);
  pass(1s); // 1.5 s: the retry at 1 s
  EXPECT_EQ(opens, 2);
  EXPECT_EQ(follower->retry_after_seconds(), 2u);
  pass(2s); // 3.5 s: the retry at 3 s; then 4 s, capped
  EXPECT_EQ(opens, 3);
  pass(4s); // 7.5 s: the retry at 7 s
  EXPECT_EQ(opens, 4);
  EXPECT_EQ(follower->retry_after_seconds(), 4u);
  remote_down = false;
  pass(4s); // 11.5 s: the retry at 11 s succeeds
  EXPECT_EQ(opens, 5);
  ASSERT_TRUE(follower->serving());
  EXPECT_EQ(follower->tree()->commit(), id(fixtures::merge_commit_id));
  ASSERT_EQ(offered, std::vector{id(fixtures::merge_commit_id)});
  EXPECT_GT(accepted_files, 0u);
  EXPECT_TRUE(readme_created);
  pass(60s); // no interval: nothing more without a request
  EXPECT_EQ(opens, 5);
  EXPECT_EQ(pulls(), 5u);
  EXPECT_EQ(pulls_failed(), 4u);
  EXPECT_EQ(heads_served(), 1u);
}

TEST_F(GitFollowerTest, ARequestDuringTheBootsBackoffRetriesAtOnce) {
  remote_down = true;
  make_follower();
  pass(100ms);
  EXPECT_EQ(opens, 1);
  remote_down = false;
  follower->request();
  pass(100ms); // well before the 1 s retry
  EXPECT_EQ(opens, 2);
  EXPECT_TRUE(follower->serving());
}

TEST_F(GitFollowerTest, RequestsDuringAPullCoalesceIntoOneMore) {
  make_follower();
  pass(1s);
  ASSERT_TRUE(follower->serving());
  EXPECT_EQ(opens, 1);
  requests_during_next_pull = 3;
  follower->request();
  pass(1s);
  EXPECT_EQ(opens, 3) << "the request, then exactly one more for the three during it";
  pass(60s);
  EXPECT_EQ(opens, 3);
  // The same head each time: offered once.
  EXPECT_EQ(offered.size(), 1u);
  EXPECT_EQ(heads_served(), 1u);
  EXPECT_EQ(pulls_failed(), 0u);
}

TEST_F(GitFollowerTest, AHeadTheApplicationRefusesKeepsTheOldOneAndIsOfferedAgain) {
  make_follower();
  pass(1s);
  ASSERT_TRUE(follower->serving());
  remote_head = fixtures::head_commit_id;
  remote_pack = &fixtures::pack_thin;
  refuse = true;
  follower->request();
  pass(1s);
  EXPECT_EQ(follower->tree()->commit(), id(fixtures::merge_commit_id));
  EXPECT_EQ(pulls_failed(), 1u);
  refuse = false;
  follower->request();
  pass(1s);
  EXPECT_EQ(follower->tree()->commit(), id(fixtures::head_commit_id));
  EXPECT_EQ(offered,
            (std::vector{id(fixtures::merge_commit_id), id(fixtures::head_commit_id), id(fixtures::head_commit_id)}));
  EXPECT_EQ(heads_served(), 2u);
}

TEST_F(GitFollowerTest, ARefusedFirstHeadServesNothingAndRetries) {
  refuse = true;
  make_follower();
  pass(500ms);
  EXPECT_FALSE(follower->serving());
  refuse = false;
  pass(1s);
  EXPECT_TRUE(follower->serving());
  EXPECT_EQ(offered.size(), 2u);
}

TEST_F(GitFollowerTest, PullsEveryInterval) {
  make_follower(10s);
  pass(25s); // at 0, 10 and 20 s
  EXPECT_EQ(opens, 3);
  remote_down = true;
  pass(10s); // the pull at 30 s fails; what is served stays
  EXPECT_EQ(opens, 4);
  EXPECT_TRUE(follower->serving());
  EXPECT_EQ(follower->tree()->commit(), id(fixtures::merge_commit_id));
  EXPECT_EQ(pulls_failed(), 1u);
}

} // namespace
} // namespace morgana::git
