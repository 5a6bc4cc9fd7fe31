#pragma once

// One core, one thread, one loop. Coroutines wait on WaitQueues, each wait with
// a deadline; the loop resumes them when notified or when the deadline passes,
// and sleeps in platform::yield when nothing is ready.

#include <coroutine>
#include <cstddef>
#include <vector>

#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"

namespace morgana {

class WaitQueue;

// The awaiter of one wait. It lives in the waiting coroutine's frame and is
// linked into its queue, the timer heap and the ready list as needed; its
// destructor unlinks it, so destroying a waiting coroutine is safe.
class [[nodiscard]] Wait {
public:
  Wait(WaitQueue* queue, Instant deadline) : m_queue(queue), m_deadline(deadline) {}
  Wait(const Wait&) = delete;
  Wait& operator=(const Wait&) = delete;
  ~Wait();

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle);
  // Ok when notified (or, for a sleep, at the deadline); Errc::timed_out at
  // the deadline of a queue wait; or the error the notifier gave
  // (Errc::cancelled, Errc::closed).
  [[nodiscard]] Result<void> await_resume() { return m_outcome; }

private:
  friend class WaitQueue;
  friend class EventLoop;
  void complete(Result<void> outcome);
  // A queue wait that reaches its deadline timed out; a plain sleep is done.
  [[nodiscard]] Result<void> deadline_outcome() const {
    if (m_queue) return fail(Errc::timed_out);
    return {};
  }

  WaitQueue* m_queue;
  Instant m_deadline;
  std::coroutine_handle<> m_handle;
  Result<void> m_outcome;
  std::size_t m_timer_index = not_in_heap;
  Wait* m_prev = nullptr; // in the queue, or in the ready list once completed
  Wait* m_next = nullptr;
  enum class State : std::uint8_t { idle, waiting, ready } m_state = State::idle;
  static constexpr std::size_t not_in_heap = ~std::size_t{0};
};

// Coroutines waiting for one condition. Waiters re-check their condition after
// waking: `while (!ready) CO_TRY(co_await queue.wait(deadline));`
class WaitQueue {
public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  ~WaitQueue(); // every waiter, also one woken but not yet resumed, gets Errc::closed

  Wait wait(Instant deadline = far_future) { return Wait(this, deadline); }
  Wait wait_for(Duration timeout);
  void notify_one();
  // Wakes every waiter with `outcome`: success, or an error such as Errc::cancelled.
  void notify_all(Result<void> outcome = {});
  [[nodiscard]] bool empty() const { return m_head == nullptr; }

private:
  friend class Wait;
  void link(Wait* wait);
  void unlink(Wait* wait);
  Wait* m_head = nullptr;
  Wait* m_tail = nullptr;
};

class EventLoop {
public:
  // Runs `task` to completion, driving every other coroutine meanwhile.
  template <class T>
  T run(Task<T> task) {
    task.handle().resume();
    // Not turn(): once the task is done, return rather than sleep until the next event.
    while (!task.done()) {
      // Nothing runs after the task ends: what it owned is gone.
      run_ready(task.handle());
      if (task.done()) break;
      wait_for_events();
    }
    return task.take_result();
  }

  // Starts `task` on the next turn; the loop owns it until it finishes.
  void spawn(Task<void> task);

  // Runs ready coroutines, fires due timers, and sleeps in platform::yield
  // until the next deadline or device activity when nothing is ready.
  void turn();

  // Woken after every platform::yield: device readers wait here.
  WaitQueue& device_activity() { return m_device_activity; }

  // Asking the image to stop (hosted: SIGTERM/SIGINT). Whoever can stop
  // gracefully waits in stop_requests(); the platform stops at once when
  // nobody waits. `status` is the exit status to report after a graceful stop.
  WaitQueue& stop_requests() { return m_stop_requests; }
  void request_stop(int status);
  [[nodiscard]] bool stop_requested() const { return m_stop_status != 0; }
  [[nodiscard]] int stop_status() const { return m_stop_status; }

  // Destroys every spawned coroutine that has not finished (at shutdown, in tests).
  void destroy_spawned();

  [[nodiscard]] std::size_t spawned_count() const;

private:
  friend class Wait;
  friend class WaitQueue;
  void run_ready(std::coroutine_handle<> main = {});
  void wait_for_events();
  void schedule(Wait* wait);
  void unschedule(Wait* wait);
  void add_timer(Wait* wait);
  void remove_timer(Wait* wait);
  void sift_up(std::size_t index);
  void sift_down(std::size_t index);
  void swap_timers(std::size_t a, std::size_t b);
  void fire_due_timers(Instant now);

  Wait* m_ready_head = nullptr;
  Wait* m_ready_tail = nullptr;
  std::vector<Wait*> m_timers; // binary min-heap by deadline
  WaitQueue m_device_activity;
  WaitQueue m_stop_requests;
  int m_stop_status = 0;
};

EventLoop& loop();

// Suspends the calling coroutine until `deadline` / for `duration`.
Wait sleep_until(Instant deadline);
Wait sleep_for(Duration duration);
// Lets every other ready coroutine run once before continuing.
Wait yield_now();

} // namespace morgana
