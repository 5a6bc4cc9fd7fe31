// The C and C++ runtime an image links against instead of libc and
// libstdc++.so: the allocation functions (over pvh::Heap), what the compiler
// and libstdc++'s headers call (__cxa_*, std::__throw_*, __stack_chk_fail,
// abort), and time() for C libraries. Without exceptions, every
// std::__throw_* stops the image with a message.

#include <bits/functexcept.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib> // the C declarations these definitions must match
#include <memory>
#include <new>

#include "morgana/core/format.h"
#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/heap.h"

namespace {

using morgana::pvh::heap;

// The throwing operator new cannot throw (no exceptions): it stops the image.
// Allocations that outside input drives use try_make_unique (core/memory.h),
// which reaches the nothrow variants below and returns Errc::no_memory.
[[noreturn]] void out_of_memory(std::size_t size) {
  morgana::StringBuilder<256> message;
  auto memory = morgana::platform::memory_stats();
  morgana::format_to(message,
                     "out of memory: operator new({} bytes) failed ({} KiB free of {} KiB); without exceptions it "
                     "can only stop the image (fallible allocations use try_make_unique, docs/DESIGN-memory.md)",
                     size, memory.free / 1024, memory.total / 1024);
  morgana::platform::abort(message.view());
}

void* allocate_or_abort(std::size_t size, std::size_t alignment = 16) {
  void* p = heap().allocate(size, alignment);
  if (!p) out_of_memory(size);
  return p;
}

[[noreturn]] void stop_with(std::string_view what, const char* detail) {
  morgana::StringBuilder<256> message;
  morgana::format_to(message, "{}: {}", what, std::string_view(detail ? detail : ""));
  morgana::platform::abort(message.view());
}

} // namespace

// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier): names the ABI fixes.

void* operator new(std::size_t size) { return allocate_or_abort(size); }
void* operator new[](std::size_t size) { return allocate_or_abort(size); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  return allocate_or_abort(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
  return allocate_or_abort(size, static_cast<std::size_t>(alignment));
}
// The nothrow variants return null when the heap has no room, as malloc does.
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return heap().allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return heap().allocate(size); }
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return heap().allocate(size, static_cast<std::size_t>(alignment));
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return heap().allocate(size, static_cast<std::size_t>(alignment));
}

void operator delete(void* p) noexcept { heap().free(p); }
void operator delete[](void* p) noexcept { heap().free(p); }
void operator delete(void* p, std::size_t) noexcept { heap().free(p); }
void operator delete[](void* p, std::size_t) noexcept { heap().free(p); }
void operator delete(void* p, std::align_val_t) noexcept { heap().free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { heap().free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { heap().free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { heap().free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { heap().free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { heap().free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { heap().free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { heap().free(p); }

extern "C" {

void* malloc(std::size_t size) noexcept { return heap().allocate(size); }

void free(void* p) noexcept { heap().free(p); }

void* calloc(std::size_t count, std::size_t size) noexcept {
  std::size_t total;
  if (__builtin_mul_overflow(count, size, &total)) return nullptr;
  void* p = heap().allocate(total);
  if (p) __builtin_memset(p, 0, total);
  return p;
}

void* realloc(void* p, std::size_t size) noexcept { return heap().reallocate(p, size); }

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept { return heap().allocate(size, alignment); }

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  constexpr int einval = 22, enomem = 12;
  if (alignment < sizeof(void*) || (alignment & (alignment - 1))) return einval;
  void* p = heap().allocate(size, alignment);
  if (!p) return enomem;
  *out = p;
  return 0;
}

void abort() noexcept { morgana::platform::abort("abort() called"); }

[[noreturn]] void __stack_chk_fail() {
  morgana::platform::abort("stack smashing detected (stack protector canary overwritten)");
}

// BearSSL's X.509 validation asks for the time this way.
long time(long* out) noexcept {
  long seconds = static_cast<long>(morgana::platform::wall_ns() / 1'000'000'000);
  if (out) *out = seconds;
  return seconds;
}

// One core, one thread: libstdc++ reads this to skip atomic reference counts
// (std::shared_ptr).
char __libc_single_threaded = 1;

// Static destructors never run: the image ends with platform::exit.
void* __dso_handle = &__dso_handle;
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }

[[noreturn]] void __cxa_pure_virtual() { morgana::platform::abort("pure virtual function called"); }

// Function-local statics on one core without threads: the guard's first byte
// says whether initialisation finished.
int __cxa_guard_acquire(const std::uint64_t* guard) {
  return *reinterpret_cast<const volatile std::uint8_t*>(guard) == 0;
}
void __cxa_guard_release(std::uint64_t* guard) { *reinterpret_cast<volatile std::uint8_t*>(guard) = 1; }
void __cxa_guard_abort(std::uint64_t*) {}

} // extern "C"

namespace std {

const nothrow_t nothrow{};

// Without RTTI, make_shared's control block is found by the address of this
// tag's type_info stand-in; anything else is not it.
bool _Sp_make_shared_tag::_S_eq(const type_info& type) noexcept { return &type == &_Sp_make_shared_tag::_S_ti(); }

void __throw_bad_exception() { stop_with("std::bad_exception", nullptr); }
void __throw_bad_alloc() { stop_with("std::bad_alloc", "out of memory; without exceptions the image stops"); }
void __throw_bad_array_new_length() { stop_with("std::bad_array_new_length", nullptr); }
void __throw_bad_cast() { stop_with("std::bad_cast", nullptr); }
void __throw_bad_typeid() { stop_with("std::bad_typeid", nullptr); }
void __throw_logic_error(const char* what) { stop_with("std::logic_error", what); }
void __throw_domain_error(const char* what) { stop_with("std::domain_error", what); }
void __throw_invalid_argument(const char* what) { stop_with("std::invalid_argument", what); }
void __throw_length_error(const char* what) { stop_with("std::length_error", what); }
void __throw_out_of_range(const char* what) { stop_with("std::out_of_range", what); }
void __throw_out_of_range_fmt(const char* what, ...) { stop_with("std::out_of_range", what); }
void __throw_runtime_error(const char* what) { stop_with("std::runtime_error", what); }
void __throw_range_error(const char* what) { stop_with("std::range_error", what); }
void __throw_overflow_error(const char* what) { stop_with("std::overflow_error", what); }
void __throw_underflow_error(const char* what) { stop_with("std::underflow_error", what); }
void __throw_system_error(int) { stop_with("std::system_error", nullptr); }
void __throw_bad_function_call() { stop_with("std::bad_function_call", nullptr); }

} // namespace std

// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)
