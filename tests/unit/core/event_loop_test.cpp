#include "morgana/core/event_loop.h"
#include "morgana/core/rate_limiter.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "sim.h"

namespace morgana {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class EventLoopTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override {
    loop().destroy_spawned();
    EXPECT_EQ(loop().spawned_count(), 0u);
  }
};

Task<int> answer() { co_return 42; }

Task<int> twice(int x) { co_return 2 * x; }

Task<int> sum_of_twice() {
  int a = co_await twice(1);
  int b = co_await twice(a);
  co_return a + b;
}

Task<int> depth(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await depth(n - 1);
}

Task<std::unique_ptr<int>> boxed(int value) { co_return std::make_unique<int>(value); }

Task<int> unbox() {
  auto box = co_await boxed(7);
  co_return *box + 1;
}

Task<void> set_true(bool& flag) {
  flag = true;
  co_return;
}

// Sets a flag when destroyed: shows that a destroyed coroutine's locals were destroyed.
struct DestroyMarker {
  bool* destroyed;
  ~DestroyMarker() { *destroyed = true; }
};

Task<void> wait_and_mark(WaitQueue& queue, Instant deadline, bool& finished, bool& destroyed) {
  DestroyMarker marker{&destroyed};
  (void)co_await queue.wait(deadline);
  finished = true;
}

Task<void> sleep_and_mark(Duration duration, bool& finished, bool& destroyed) {
  DestroyMarker marker{&destroyed};
  (void)co_await sleep_for(duration);
  finished = true;
}

TEST_F(EventLoopTest, RunReturnsTheTaskResult) { EXPECT_EQ(loop().run(answer()), 42); }

TEST_F(EventLoopTest, RunVoidTask) {
  bool ran = false;
  loop().run(set_true(ran));
  EXPECT_TRUE(ran);
}

TEST_F(EventLoopTest, TasksAreLazy) {
  bool ran = false;
  {
    auto task = set_true(ran);
    EXPECT_TRUE(task.valid());
    EXPECT_FALSE(task.done());
  } // destroyed unstarted: nothing runs, nothing leaks
  EXPECT_FALSE(ran);
}

TEST_F(EventLoopTest, NestedTasksReturnValues) { EXPECT_EQ(loop().run(sum_of_twice()), 6); }

TEST_F(EventLoopTest, MoveOnlyResults) { EXPECT_EQ(loop().run(unbox()), 8); }

// Symmetric transfer: a deep chain of awaits does not grow the stack.
TEST_F(EventLoopTest, DeepNestingDoesNotOverflowTheStack) { EXPECT_EQ(loop().run(depth(100000)), 100000); }

Task<void> count_up(int& counter) {
  ++counter;
  co_return;
}

Task<void> spawn_and_yield(int& counter) {
  loop().spawn(count_up(counter));
  loop().spawn(count_up(counter));
  EXPECT_EQ(counter, 0); // spawned tasks start on the next turn
  EXPECT_EQ(loop().spawned_count(), 2u);
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(counter, 2);
  EXPECT_EQ(loop().spawned_count(), 0u); // finished frames free themselves
}

TEST_F(EventLoopTest, SpawnRunsOnTheNextTurn) {
  int counter = 0;
  loop().run(spawn_and_yield(counter));
  EXPECT_EQ(counter, 2);
}

Task<void> sleep_briefly_beside_a_long_sleeper(bool& long_sleeper_finished, bool& destroyed) {
  loop().spawn(sleep_and_mark(seconds(10), long_sleeper_finished, destroyed));
  EXPECT_TRUE(co_await sleep_for(milliseconds(1)));
}

// run() returns as soon as its task is done, without sleeping until the next
// timer (or, with none left, forever).
TEST_F(EventLoopTest, RunReturnsWhenItsTaskIsDone) {
  bool finished = false;
  bool destroyed = false;
  auto before = sim::now_ns();
  loop().run(sleep_briefly_beside_a_long_sleeper(finished, destroyed));
  EXPECT_EQ(sim::now_ns() - before, 1'000'000);
  EXPECT_FALSE(finished);
  EXPECT_EQ(loop().spawned_count(), 1u);
  loop().destroy_spawned(); // while the flags it points to are alive
  EXPECT_TRUE(destroyed);
}

Task<void> record_wake(WaitQueue& queue, std::vector<int>& order, int id) {
  auto woken = co_await queue.wait();
  EXPECT_TRUE(woken);
  order.push_back(id);
}

Task<void> notify_one_in_order(std::vector<int>& order) {
  WaitQueue queue;
  queue.notify_one(); // nobody waits: nothing happens
  for (int id = 0; id < 3; ++id) loop().spawn(record_wake(queue, order, id));
  EXPECT_TRUE(co_await yield_now());
  EXPECT_TRUE(order.empty());
  queue.notify_one();
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(order, (std::vector<int>{0}));
  queue.notify_one();
  queue.notify_one();
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(queue.empty());
}

TEST_F(EventLoopTest, NotifyOneWakesInWaitingOrder) {
  std::vector<int> order;
  loop().run(notify_one_in_order(order));
  EXPECT_EQ(order.size(), 3u);
}

Task<void> notify_all_in_order(std::vector<int>& order) {
  WaitQueue queue;
  for (int id = 0; id < 4; ++id) loop().spawn(record_wake(queue, order, id));
  EXPECT_TRUE(co_await yield_now());
  EXPECT_FALSE(queue.empty());
  queue.notify_all();
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(EventLoopTest, NotifyAllWakesEveryoneInOrder) {
  std::vector<int> order;
  loop().run(notify_all_in_order(order));
  EXPECT_EQ(order.size(), 4u);
}

Task<void> wait_times_out() {
  WaitQueue queue;
  auto start = MonotonicClock::now();
  auto woken = co_await queue.wait(start + milliseconds(5));
  EXPECT_FALSE(woken);
  EXPECT_EQ(woken.error().code, Errc::timed_out);
  EXPECT_EQ(MonotonicClock::now() - start, milliseconds(5));
  EXPECT_TRUE(queue.empty());

  start = MonotonicClock::now();
  woken = co_await queue.wait_for(seconds(3));
  EXPECT_EQ(woken.error().code, Errc::timed_out);
  EXPECT_EQ(MonotonicClock::now() - start, seconds(3));
}

TEST_F(EventLoopTest, WaitWithDeadlineTimesOutAtTheDeadline) { loop().run(wait_times_out()); }

Task<void> wait_past_deadline() {
  WaitQueue queue;
  auto start = MonotonicClock::now();
  auto woken = co_await queue.wait(start);
  EXPECT_EQ(woken.error().code, Errc::timed_out);
  EXPECT_EQ(MonotonicClock::now(), start);
  EXPECT_TRUE(queue.empty());
}

TEST_F(EventLoopTest, WaitWithPastDeadlineTimesOutAtOnce) { loop().run(wait_past_deadline()); }

Task<void> notify_after(WaitQueue& queue, Duration delay) {
  EXPECT_TRUE(co_await sleep_for(delay));
  queue.notify_one();
}

Task<void> notified_before_deadline() {
  WaitQueue queue;
  auto start = MonotonicClock::now();
  loop().spawn(notify_after(queue, milliseconds(2)));
  auto woken = co_await queue.wait(start + milliseconds(10));
  EXPECT_TRUE(woken);
  EXPECT_EQ(MonotonicClock::now() - start, milliseconds(2));
  // The cancelled timer does not fire later (ASan would see a freed waiter).
  EXPECT_TRUE(co_await sleep_for(milliseconds(20)));
  EXPECT_EQ(MonotonicClock::now() - start, milliseconds(22));
}

TEST_F(EventLoopTest, NotifiedBeforeDeadline) { loop().run(notified_before_deadline()); }

Task<void> sleeps() {
  auto start = MonotonicClock::now();
  EXPECT_TRUE(co_await sleep_for(milliseconds(250)));
  EXPECT_EQ(MonotonicClock::now() - start, milliseconds(250));
  EXPECT_TRUE(co_await sleep_until(start + seconds(2)));
  EXPECT_EQ(MonotonicClock::now() - start, seconds(2));
  EXPECT_TRUE(co_await sleep_for(Duration::zero()));
  EXPECT_TRUE(co_await yield_now());
  EXPECT_TRUE(co_await sleep_until(start)); // already past
  EXPECT_EQ(MonotonicClock::now() - start, seconds(2));
}

TEST_F(EventLoopTest, SleepAdvancesVirtualTimeExactly) {
  auto before = sim::now_ns();
  loop().run(sleeps());
  EXPECT_EQ(sim::now_ns() - before, 2'000'000'000);
}

Task<void> record_outcome(WaitQueue& queue, std::vector<Errc>& outcomes) {
  auto woken = co_await queue.wait(MonotonicClock::now() + seconds(10));
  outcomes.push_back(woken ? Errc{} : woken.error().code);
}

Task<void> cancel_waiters(std::vector<Errc>& outcomes) {
  WaitQueue queue;
  auto start = MonotonicClock::now();
  loop().spawn(record_outcome(queue, outcomes));
  loop().spawn(record_outcome(queue, outcomes));
  EXPECT_TRUE(co_await yield_now());
  queue.notify_all(fail(Errc::cancelled));
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(MonotonicClock::now(), start);
}

TEST_F(EventLoopTest, NotifyAllDeliversCancellation) {
  std::vector<Errc> outcomes;
  loop().run(cancel_waiters(outcomes));
  EXPECT_EQ(outcomes, (std::vector<Errc>{Errc::cancelled, Errc::cancelled}));
}

Task<void> destroy_queue_under_waiters(std::vector<Errc>& outcomes) {
  auto queue = std::make_unique<WaitQueue>();
  loop().spawn(record_outcome(*queue, outcomes));
  EXPECT_TRUE(co_await yield_now());
  queue.reset();
  EXPECT_TRUE(co_await yield_now());
}

TEST_F(EventLoopTest, DestroyedQueueWakesWaitersWithClosed) {
  std::vector<Errc> outcomes;
  loop().run(destroy_queue_under_waiters(outcomes));
  EXPECT_EQ(outcomes, (std::vector<Errc>{Errc::closed}));
}

Task<void> destroy_queue_after_waking(std::vector<Errc>& outcomes) {
  auto queue = std::make_unique<WaitQueue>();
  loop().spawn(record_outcome(*queue, outcomes));
  EXPECT_TRUE(co_await yield_now());
  queue->notify_all(); // woken, but not yet resumed
  queue.reset();       // its owner goes away first
  EXPECT_TRUE(co_await yield_now());
}

// A waiter woken with success whose queue is destroyed before it runs must not
// go on as if its condition held: it sees Errc::closed.
TEST_F(EventLoopTest, DestroyedQueueClosesWaitersAlreadyWoken) {
  std::vector<Errc> outcomes;
  loop().run(destroy_queue_after_waking(outcomes));
  EXPECT_EQ(outcomes, (std::vector<Errc>{Errc::closed}));
}

Task<void> outer_waiting_on_inner(WaitQueue& queue, bool& finished, bool& destroyed) {
  DestroyMarker marker{&destroyed};
  co_await wait_and_mark(queue, far_future, finished, destroyed);
  finished = true;
}

struct Flags {
  bool finished = false;
  bool destroyed = false;
};

Task<void> destroy_waiting(WaitQueue& queue, Flags (&flags)[3]) {
  auto start = MonotonicClock::now();
  loop().spawn(wait_and_mark(queue, start + seconds(1), flags[0].finished, flags[0].destroyed));
  loop().spawn(sleep_and_mark(seconds(1), flags[1].finished, flags[1].destroyed));
  loop().spawn(outer_waiting_on_inner(queue, flags[2].finished, flags[2].destroyed));
  EXPECT_TRUE(co_await yield_now());
  EXPECT_EQ(loop().spawned_count(), 3u);
  EXPECT_FALSE(queue.empty());

  loop().destroy_spawned();
  EXPECT_EQ(loop().spawned_count(), 0u);
  EXPECT_TRUE(queue.empty());
  for (auto& f : flags) EXPECT_TRUE(f.destroyed);
  // Neither the queue nor the timer heap still points into the freed frames.
  queue.notify_all();
  EXPECT_TRUE(co_await sleep_for(seconds(2)));
  EXPECT_EQ(MonotonicClock::now() - start, seconds(2));
}

TEST_F(EventLoopTest, DestroyingWaitingSpawnedCoroutinesUnlinksThem) {
  WaitQueue queue;
  Flags flags[3];
  loop().run(destroy_waiting(queue, flags));
  for (auto& f : flags) EXPECT_FALSE(f.finished);
}

Task<void> destroy_ready(WaitQueue& queue, Flags& flags) {
  loop().spawn(wait_and_mark(queue, far_future, flags.finished, flags.destroyed));
  EXPECT_TRUE(co_await yield_now());
  queue.notify_all(); // now on the ready list, not yet resumed
  loop().destroy_spawned();
  EXPECT_TRUE(flags.destroyed);
  EXPECT_TRUE(co_await yield_now());
  EXPECT_TRUE(co_await sleep_for(milliseconds(1)));
}

TEST_F(EventLoopTest, DestroyingReadySpawnedCoroutineUnschedulesIt) {
  WaitQueue queue;
  Flags flags;
  loop().run(destroy_ready(queue, flags));
  EXPECT_FALSE(flags.finished);
}

Task<void> notify_both(WaitQueue& first, WaitQueue& second) {
  first.notify_one();
  second.notify_one();
  co_return;
}

Task<void> wait_forever(WaitQueue& queue) { (void)co_await queue.wait(); }

Task<void> watch_devices(bool& woke) {
  (void)co_await loop().device_activity().wait();
  woke = true;
}

// One turn runs what was ready when it began and then polls devices, even when
// a coroutine in that batch destroys the last one of it.
Task<void> destroy_rest_of_batch() {
  WaitQueue mine;
  WaitQueue theirs;
  loop().spawn(wait_forever(theirs));
  EXPECT_TRUE(co_await yield_now());
  loop().spawn(notify_both(mine, theirs));
  EXPECT_TRUE(co_await mine.wait()); // woken together with the spawned waiter, ahead of it
  loop().destroy_spawned();
  bool woke = false;
  loop().spawn(watch_devices(woke));
  for (int i = 0; i < 1000 && !woke; ++i) EXPECT_TRUE(co_await yield_now());
  EXPECT_TRUE(woke);
}

TEST_F(EventLoopTest, TurnEndsWhenItsLastWaiterIsDestroyed) { loop().run(destroy_rest_of_batch()); }

Task<void> record_sleep(Duration delay, Instant start, std::vector<std::pair<Duration, Duration>>& fired) {
  EXPECT_TRUE(co_await sleep_for(delay));
  fired.emplace_back(delay, MonotonicClock::now() - start);
}

Task<void> many_timers(std::vector<std::pair<Duration, Duration>>& fired) {
  auto start = MonotonicClock::now();
  // 37 is coprime with 100: delays 1..100 ms, spawned in scrambled order.
  for (int i = 0; i < 100; ++i) loop().spawn(record_sleep(milliseconds((i * 37) % 100 + 1), start, fired));
  EXPECT_TRUE(co_await sleep_for(milliseconds(200)));
}

TEST_F(EventLoopTest, ManyTimersFireInDeadlineOrderAtTheirDeadlines) {
  std::vector<std::pair<Duration, Duration>> fired;
  loop().run(many_timers(fired));
  ASSERT_EQ(fired.size(), 100u);
  for (std::size_t i = 0; i < fired.size(); ++i) {
    EXPECT_EQ(fired[i].first, milliseconds(i + 1));
    EXPECT_EQ(fired[i].second, fired[i].first);
  }
}

Task<void> record_timeout(WaitQueue& queue, Duration delay, Instant start,
                          std::vector<std::pair<Duration, Duration>>& timed_out, int& notified) {
  auto woken = co_await queue.wait(start + delay);
  if (woken) ++notified;
  else timed_out.emplace_back(delay, MonotonicClock::now() - start);
}

// Notified waiters leave the middle of the timer heap; the rest still time out in order.
Task<void> timers_removed_from_the_middle(std::vector<std::pair<Duration, Duration>>& timed_out, int& notified) {
  WaitQueue queue;
  auto start = MonotonicClock::now();
  for (int i = 0; i < 64; ++i)
    loop().spawn(record_timeout(queue, milliseconds((i * 37) % 64 + 1), start, timed_out, notified));
  EXPECT_TRUE(co_await yield_now());
  for (int i = 0; i < 20; ++i) queue.notify_one();
  EXPECT_TRUE(co_await sleep_for(milliseconds(100)));
}

TEST_F(EventLoopTest, TimersRemovedFromTheMiddleKeepTheOrder) {
  std::vector<std::pair<Duration, Duration>> timed_out;
  int notified = 0;
  loop().run(timers_removed_from_the_middle(timed_out, notified));
  EXPECT_EQ(notified, 20);
  ASSERT_EQ(timed_out.size(), 44u);
  for (std::size_t i = 0; i < timed_out.size(); ++i) {
    EXPECT_EQ(timed_out[i].second, timed_out[i].first);
    if (i > 0) EXPECT_LT(timed_out[i - 1].first, timed_out[i].first);
  }
}

Task<void> equal_deadlines(int& fired) {
  auto start = MonotonicClock::now();
  std::vector<std::pair<Duration, Duration>> records;
  for (int i = 0; i < 10; ++i) loop().spawn(record_sleep(milliseconds(5), start, records));
  EXPECT_TRUE(co_await sleep_for(milliseconds(6)));
  for (auto& [delay, at] : records) EXPECT_EQ(at, milliseconds(5));
  fired = static_cast<int>(records.size());
}

TEST_F(EventLoopTest, TimersWithEqualDeadlinesAllFire) {
  int fired = 0;
  loop().run(equal_deadlines(fired));
  EXPECT_EQ(fired, 10);
}

} // namespace
} // namespace morgana

namespace morgana {
namespace {

TEST(RateLimiter, LetsOneEventThroughPerInterval) {
  sim::reset();
  RateLimiter limiter(std::chrono::seconds(1));
  EXPECT_TRUE(limiter.try_now());
  EXPECT_FALSE(limiter.try_now());
  loop().run([]() -> Task<void> { (void)co_await sleep_for(std::chrono::milliseconds(999)); }());
  EXPECT_FALSE(limiter.try_now());
  loop().run([]() -> Task<void> { (void)co_await sleep_for(std::chrono::milliseconds(1)); }());
  EXPECT_TRUE(limiter.try_now());
}

} // namespace
} // namespace morgana

namespace morgana {
namespace {

TEST(RateLimiter, LetsABurstThroughPerInterval) {
  sim::reset();
  RateLimiter limiter(std::chrono::seconds(1), 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_now());
  EXPECT_FALSE(limiter.try_now());
  loop().run([]() -> Task<void> { (void)co_await sleep_for(std::chrono::seconds(1)); }());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_now());
  EXPECT_FALSE(limiter.try_now());
}

} // namespace
} // namespace morgana
