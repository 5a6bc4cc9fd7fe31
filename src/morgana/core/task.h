#pragma once

#include <coroutine>
#include <optional>
#include <utility>

namespace morgana {

namespace detail {
// Exceptions are off; a coroutine that somehow throws stops the image.
[[noreturn]] void unhandled_coroutine_exception();
} // namespace detail

// A lazily started coroutine that produces a T. `co_await task` runs it and
// resumes the awaiter when it finishes (symmetric transfer, no recursion).
// Frames are freed when the Task that owns them goes away.
template <class T = void>
class [[nodiscard]] Task;

namespace detail {

struct PromiseBase {
  std::coroutine_handle<> continuation;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> done) noexcept {
      auto next = done.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { detail::unhandled_coroutine_exception(); }
};

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept;
  template <class U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() { return std::move(*value); }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take() {}
};

} // namespace detail

template <class T>
class [[nodiscard]] Task {
public:
  using promise_type = detail::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle handle) : m_handle(handle) {}
  Task(Task&& other) noexcept
      : m_handle(std::exchange(other.m_handle, {})), m_started(std::exchange(other.m_started, false)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      m_handle = std::exchange(other.m_handle, {});
      m_started = std::exchange(other.m_started, false);
    }
    return *this;
  }
  ~Task() { reset(); }

  [[nodiscard]] bool valid() const { return bool(m_handle); }
  [[nodiscard]] bool done() const { return m_handle && m_handle.done(); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle handle;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle.promise().continuation = awaiting;
        return handle;
      }
      T await_resume() { return handle.promise().take(); }
    };
    return Awaiter{m_handle};
  }

  // Runs an owned background task up to its first suspension; the loop resumes
  // it from there. Destroying the Task cancels it.
  void start() {
    if (m_handle && !m_started) {
      m_started = true;
      m_handle.resume();
    }
  }

  // For the event loop: the raw frame, and the result once done.
  Handle handle() const { return m_handle; }
  T take_result() { return m_handle.promise().take(); }

private:
  void reset() {
    if (m_handle) m_handle.destroy();
    m_handle = {};
  }
  Handle m_handle;
  bool m_started = false;
};

namespace detail {
template <class T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
} // namespace detail

} // namespace morgana
