#include "morgana/core/event_loop.h"

#include "morgana/platform/interface.h"

namespace morgana {
namespace {

// A spawned coroutine: starts on the next turn, frees itself when done.
struct Detached {
  struct promise_type {
    promise_type* prev = nullptr;
    promise_type* next = nullptr;
    promise_type();
    ~promise_type();
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { detail::unhandled_coroutine_exception(); }
  };
};

constinit Detached::promise_type* g_spawned = nullptr;

Detached::promise_type::promise_type() : next(g_spawned) {
  if (g_spawned) g_spawned->prev = this;
  g_spawned = this;
}

Detached::promise_type::~promise_type() {
  if (prev) prev->next = next;
  else g_spawned = next;
  if (next) next->prev = prev;
}

Detached run_detached(Task<void> task) {
  (void)co_await yield_now();
  co_await std::move(task);
}

} // namespace

EventLoop& loop() {
  static EventLoop instance;
  return instance;
}

Wait::~Wait() {
  if (m_state == State::waiting && m_queue) m_queue->unlink(this);
  if (m_state == State::ready) loop().unschedule(this);
  if (m_timer_index != not_in_heap) loop().remove_timer(this);
}

void Wait::await_suspend(std::coroutine_handle<> handle) {
  m_handle = handle;
  m_state = State::waiting;
  if (m_queue) m_queue->link(this);
  if (m_deadline <= MonotonicClock::now()) {
    complete(deadline_outcome());
    return;
  }
  if (m_deadline != far_future) loop().add_timer(this);
}

void Wait::complete(Result<void> outcome) {
  if (m_state != State::waiting) return;
  if (m_queue) m_queue->unlink(this);
  if (m_timer_index != not_in_heap) loop().remove_timer(this);
  m_outcome = outcome;
  loop().schedule(this);
}

WaitQueue::~WaitQueue() {
  notify_all(fail(Errc::closed));
  // Waiters woken earlier but not yet resumed would return into whatever owned
  // this queue, which is going away: they see Errc::closed too.
  for (Wait* wait = loop().m_ready_head; wait; wait = wait->m_next) {
    if (wait->m_queue != this) continue;
    wait->m_outcome = fail(Errc::closed);
    wait->m_queue = nullptr;
  }
}

Wait WaitQueue::wait_for(Duration timeout) { return Wait(this, MonotonicClock::now() + timeout); }

void WaitQueue::link(Wait* wait) {
  wait->m_prev = m_tail;
  wait->m_next = nullptr;
  if (m_tail) m_tail->m_next = wait;
  else m_head = wait;
  m_tail = wait;
}

void WaitQueue::unlink(Wait* wait) {
  if (wait->m_prev) wait->m_prev->m_next = wait->m_next;
  else m_head = wait->m_next;
  if (wait->m_next) wait->m_next->m_prev = wait->m_prev;
  else m_tail = wait->m_prev;
  wait->m_prev = wait->m_next = nullptr;
}

void WaitQueue::notify_one() {
  if (m_head) m_head->complete({});
}

void WaitQueue::notify_all(Result<void> outcome) {
  while (m_head) m_head->complete(outcome);
}

void EventLoop::schedule(Wait* wait) {
  wait->m_state = Wait::State::ready;
  wait->m_prev = m_ready_tail;
  wait->m_next = nullptr;
  if (m_ready_tail) m_ready_tail->m_next = wait;
  else m_ready_head = wait;
  m_ready_tail = wait;
}

void EventLoop::unschedule(Wait* wait) {
  if (wait->m_prev) wait->m_prev->m_next = wait->m_next;
  else m_ready_head = wait->m_next;
  if (wait->m_next) wait->m_next->m_prev = wait->m_prev;
  else m_ready_tail = wait->m_prev;
  wait->m_prev = wait->m_next = nullptr;
  wait->m_state = Wait::State::idle;
}

void EventLoop::add_timer(Wait* wait) {
  wait->m_timer_index = m_timers.size();
  m_timers.push_back(wait);
  sift_up(wait->m_timer_index);
}

void EventLoop::remove_timer(Wait* wait) {
  auto index = wait->m_timer_index;
  auto last = m_timers.size() - 1;
  if (index != last) {
    swap_timers(index, last);
    m_timers.pop_back();
    sift_down(index);
    sift_up(index);
  } else {
    m_timers.pop_back();
  }
  wait->m_timer_index = Wait::not_in_heap;
}

void EventLoop::swap_timers(std::size_t a, std::size_t b) {
  std::swap(m_timers[a], m_timers[b]);
  m_timers[a]->m_timer_index = a;
  m_timers[b]->m_timer_index = b;
}

void EventLoop::sift_up(std::size_t index) {
  while (index > 0) {
    auto parent = (index - 1) / 2;
    if (m_timers[parent]->m_deadline <= m_timers[index]->m_deadline) break;
    swap_timers(parent, index);
    index = parent;
  }
}

void EventLoop::sift_down(std::size_t index) {
  while (true) {
    auto smallest = index;
    for (auto child : {2 * index + 1, 2 * index + 2})
      if (child < m_timers.size() && m_timers[child]->m_deadline < m_timers[smallest]->m_deadline) smallest = child;
    if (smallest == index) return;
    swap_timers(index, smallest);
    index = smallest;
  }
}

void EventLoop::fire_due_timers(Instant now) {
  while (!m_timers.empty() && m_timers.front()->m_deadline <= now)
    m_timers.front()->complete(m_timers.front()->deadline_outcome());
}

void EventLoop::turn() {
  run_ready();
  wait_for_events();
}

void EventLoop::run_ready(std::coroutine_handle<> main) {
  // Run what is ready now; coroutines made ready meanwhile wait for the next turn,
  // so device input is polled between them. Counted, not marked by the last
  // waiter: a coroutine run here may destroy that one.
  std::size_t batch = 0;
  for (Wait* wait = m_ready_head; wait; wait = wait->m_next) ++batch;
  for (; batch > 0 && m_ready_head && !(main && main.done()); --batch) {
    Wait* wait = m_ready_head;
    unschedule(wait);
    wait->m_handle.resume();
  }
}

void EventLoop::wait_for_events() {
  fire_due_timers(MonotonicClock::now());
  Instant deadline = m_ready_head ? Instant{} : (m_timers.empty() ? far_future : m_timers.front()->m_deadline);
  platform::yield(deadline.time_since_epoch().count());
  m_device_activity.notify_all();
  fire_due_timers(MonotonicClock::now());
}

void EventLoop::spawn(Task<void> task) { run_detached(std::move(task)); }

void EventLoop::request_stop(int status) {
  if (stop_requested()) return;
  m_stop_status = status;
  m_stop_requests.notify_all();
}

void detail::unhandled_coroutine_exception() { platform::abort("exception in a coroutine"); }

void EventLoop::destroy_spawned() {
  while (g_spawned) std::coroutine_handle<Detached::promise_type>::from_promise(*g_spawned).destroy();
}

std::size_t EventLoop::spawned_count() const {
  std::size_t count = 0;
  for (auto* p = g_spawned; p; p = p->next) ++count;
  return count;
}

Wait sleep_until(Instant deadline) { return Wait(nullptr, deadline); }
Wait sleep_for(Duration duration) { return Wait(nullptr, MonotonicClock::now() + duration); }
Wait yield_now() { return Wait(nullptr, Instant{}); }

} // namespace morgana
