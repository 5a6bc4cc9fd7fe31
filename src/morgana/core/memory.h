#pragma once

// Allocation that can fail, as a Result (docs/DESIGN-memory.md): for
// everything whose size or number outside input decides (connections,
// packets, requests, TLS sessions, buffers). Errc::no_memory goes up to the
// caller, which drops what it was doing and counts it.
//
//   auto stream = TRY(try_make_unique<TcpStream>("TCP stream", connection));
//   auto bytes = TRY(try_make_unique<std::byte[]>("packet buffer", length));
//
// `what` becomes the error's context. When the allocation fails the
// constructor never runs, so nothing passed to it has been moved from. A class
// whose constructor is private to its factory befriends morgana::NothrowNew.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "morgana/core/result.h"

namespace morgana {

// The one place try_make_unique constructs: `friend struct morgana::NothrowNew;`.
struct NothrowNew {
  template <class T, class... Args>
  static T* make(Args&&... args) {
    return new (std::nothrow) T(std::forward<Args>(args)...);
  }
};

template <class T, class... Args>
  requires(!std::is_array_v<T>)
[[nodiscard]] Result<std::unique_ptr<T>> try_make_unique(std::string_view what, Args&&... args) {
  std::unique_ptr<T> owned(NothrowNew::make<T>(std::forward<Args>(args)...));
  if (!owned) return fail(Errc::no_memory, what);
  return owned;
}

// `count` elements, default-initialised as with new T[count] (bytes are not
// zeroed). A count whose size does not fit in size_t is Errc::no_memory too.
template <class T>
  requires std::is_unbounded_array_v<T>
[[nodiscard]] Result<std::unique_ptr<T>> try_make_unique(std::string_view what, std::size_t count) {
  using Element = std::remove_extent_t<T>;
  if (count > SIZE_MAX / sizeof(Element)) return fail(Errc::no_memory, what);
  std::unique_ptr<T> owned(new (std::nothrow) Element[count]);
  if (!owned) return fail(Errc::no_memory, what);
  return owned;
}

// The heap behind operator new, for layers that size their buffers to fit
// (TCP rings, the HTTP server's low-memory refusal).
struct MemoryStats {
  std::size_t total; // bytes the allocator manages (or the process may use)
  std::size_t free;  // of those, bytes not allocated; not necessarily in one piece
};

[[nodiscard]] MemoryStats memory_stats();

} // namespace morgana
