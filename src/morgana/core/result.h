#pragma once

#include <cstdint>
#include <expected>
#include <string_view>
#include <utility>

namespace morgana {

// Every failure Morgana reports, by name. Messages live in result.cpp.
enum class Errc : std::uint8_t {
  truncated, // input ended before a field did
  no_space,  // output buffer too small
  malformed, // a field holds a value the format forbids
  bad_checksum,
  unsupported,
  no_memory,
  timed_out,
  cancelled,
  would_block,
  not_found,
  unreachable,
  in_use,
  invalid_argument,
  closed,
  io_error,
  no_entropy,
  limit_reached,
};

// An error value: what went wrong (code) and, optionally, where (a static string).
struct Error {
  Errc code;
  std::string_view context = {};

  [[nodiscard]] std::string_view name() const;
  [[nodiscard]] std::string_view message() const;
  friend constexpr bool operator==(const Error& error, Errc errc) { return error.code == errc; }
};

template <class T>
using Result = std::expected<T, Error>;

[[nodiscard]] constexpr std::unexpected<Error> fail(Errc code, std::string_view context = {}) {
  return std::unexpected<Error>(Error{code, context});
}

namespace detail {
template <class T>
T take(std::expected<T, Error>&& result) {
  return std::move(*result);
}
inline void take(std::expected<void, Error>&&) {}
[[noreturn]] void must_failed(const Error& error, const char* expression, const char* file, int line);
} // namespace detail

} // namespace morgana

// TRY(expr): the value of a Result, or return its error from the enclosing function.
#define TRY(expr)                                                                                                      \
  ({                                                                                                                   \
    auto _morgana_try = (expr);                                                                                        \
    if (!_morgana_try.has_value()) return std::unexpected(_morgana_try.error());                                       \
    ::morgana::detail::take(std::move(_morgana_try));                                                                  \
  })

// CO_TRY(expr): TRY for coroutines returning Task<Result<T>>.
#define CO_TRY(expr)                                                                                                   \
  ({                                                                                                                   \
    auto _morgana_try = (expr);                                                                                        \
    if (!_morgana_try.has_value()) co_return std::unexpected(_morgana_try.error());                                    \
    ::morgana::detail::take(std::move(_morgana_try));                                                                  \
  })

// MUST(expr): the escape hatch for results that cannot fail here; aborts with the
// expression and location when they do. Grep for MUST( to audit every use.
#define MUST(expr)                                                                                                     \
  ({                                                                                                                   \
    auto _morgana_must = (expr);                                                                                       \
    if (!_morgana_must.has_value()) ::morgana::detail::must_failed(_morgana_must.error(), #expr, __FILE__, __LINE__);  \
    ::morgana::detail::take(std::move(_morgana_must));                                                                 \
  })
