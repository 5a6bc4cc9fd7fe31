// The C library's memory and string functions, for the compiler (which emits
// calls to memcpy and memset), libstdc++'s headers and the C libraries linked
// into images. Also the fortified entry points (__memcpy_chk, ...) that
// Debian's -D_FORTIFY_SOURCE builds of those libraries call.

#include <cstddef>
#include <cstdint>

#include "morgana/platform/interface.h"

// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier): C library names.
extern "C" {

void* memcpy(void* destination, const void* source, std::size_t size) noexcept {
  void* result = destination;
  std::size_t words = size / 8, bytes = size % 8;
  asm volatile("rep movsq\n"
               "mov %3, %%rcx\n"
               "rep movsb"
               : "+D"(destination), "+S"(source), "+c"(words)
               : "r"(bytes)
               : "memory");
  return result;
}

void* memmove(void* destination, const void* source, std::size_t size) noexcept {
  auto d = reinterpret_cast<std::uintptr_t>(destination), s = reinterpret_cast<std::uintptr_t>(source);
  if (d <= s || d >= s + size) return memcpy(destination, source, size);
  // Overlapping with the destination above: copy backwards.
  auto* d_last = static_cast<char*>(destination) + size - 1;
  const auto* s_last = static_cast<const char*>(source) + size - 1;
  asm volatile("std\n"
               "rep movsb\n"
               "cld"
               : "+D"(d_last), "+S"(s_last), "+c"(size)
               :
               : "memory");
  return destination;
}

void* memset(void* destination, int value, std::size_t size) noexcept {
  void* result = destination;
  std::uint64_t pattern = 0x0101010101010101u * static_cast<std::uint8_t>(value);
  std::size_t words = size / 8, bytes = size % 8;
  asm volatile("rep stosq\n"
               "mov %3, %%rcx\n"
               "rep stosb"
               : "+D"(destination), "+c"(words), "+a"(pattern)
               : "r"(bytes)
               : "memory");
  return result;
}

int memcmp(const void* a, const void* b, std::size_t size) noexcept {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < size; ++i)
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

int bcmp(const void* a, const void* b, std::size_t size) noexcept { return memcmp(a, b, size); }

void* memchr(const void* memory, int value, std::size_t size) noexcept {
  const auto* p = static_cast<const unsigned char*>(memory);
  for (std::size_t i = 0; i < size; ++i)
    if (p[i] == static_cast<unsigned char>(value)) return const_cast<unsigned char*>(p + i);
  return nullptr;
}

std::size_t strlen(const char* text) noexcept {
  std::size_t n = 0;
  while (text[n]) ++n;
  return n;
}

std::size_t strnlen(const char* text, std::size_t limit) noexcept {
  std::size_t n = 0;
  while (n < limit && text[n]) ++n;
  return n;
}

int strcmp(const char* a, const char* b) noexcept {
  while (*a && *a == *b) ++a, ++b;
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

int strncmp(const char* a, const char* b, std::size_t limit) noexcept {
  for (std::size_t i = 0; i < limit; ++i) {
    if (a[i] != b[i] || !a[i]) return static_cast<unsigned char>(a[i]) - static_cast<unsigned char>(b[i]);
  }
  return 0;
}

char* strchr(const char* text, int value) noexcept {
  for (;; ++text) {
    if (*text == static_cast<char>(value)) return const_cast<char*>(text);
    if (!*text) return nullptr;
  }
}

char* strrchr(const char* text, int value) noexcept {
  const char* found = nullptr;
  for (;; ++text) {
    if (*text == static_cast<char>(value)) found = text;
    if (!*text) return const_cast<char*>(found);
  }
}

char* strcpy(char* destination, const char* source) noexcept {
  for (char* out = destination; (*out = *source) != 0; ++out, ++source) {}
  return destination;
}

// The first place `pattern` occurs in `text`. Quadratic at worst; its callers
// (cmark-gfm's task lists) look for a short constant in a short string.
char* strstr(const char* text, const char* pattern) noexcept {
  std::size_t length = strlen(pattern);
  for (;; ++text) {
    if (strncmp(text, pattern, length) == 0) return const_cast<char*>(text);
    if (!*text) return nullptr;
  }
}

// ASCII letters only, as in the "C" locale.
int strncasecmp(const char* a, const char* b, std::size_t limit) noexcept {
  auto lower = [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 'A' && u <= 'Z' ? u + ('a' - 'A') : u;
  };
  for (std::size_t i = 0; i < limit; ++i) {
    if (lower(a[i]) != lower(b[i]) || !a[i]) return lower(a[i]) - lower(b[i]);
  }
  return 0;
}

void* __memcpy_chk(void* destination, const void* source, std::size_t size, std::size_t destination_size) noexcept {
  if (size > destination_size) morgana::platform::abort("__memcpy_chk: buffer overflow");
  return memcpy(destination, source, size);
}

void* __memmove_chk(void* destination, const void* source, std::size_t size, std::size_t destination_size) noexcept {
  if (size > destination_size) morgana::platform::abort("__memmove_chk: buffer overflow");
  return memmove(destination, source, size);
}

void* __memset_chk(void* destination, int value, std::size_t size, std::size_t destination_size) noexcept {
  if (size > destination_size) morgana::platform::abort("__memset_chk: buffer overflow");
  return memset(destination, value, size);
}

} // extern "C"
// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)
