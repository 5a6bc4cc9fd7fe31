// The rest of the C library that the Debian static libraries linked into
// images reference (BearSSL's libbearssl.a, zlib's libz.a, cmark-gfm's
// libcmark-gfm.a and libcmark-gfm-extensions.a), beside string.cpp (memory
// and strings), runtime.cpp (allocation, abort, time, __stack_chk_fail) and
// printf.cpp (the printf family and stdio). libc_symbols.txt lists what foreign code uses;
// tests/system/pvh_link_test.sh checks that nothing the libraries pull in is
// missing.
//
// There are no files here: open, read, write, close and lseek fail with errno
// set. Their callers are BearSSL's system seeder (br_prng_seeder_system reads
// /dev/urandom; Morgana seeds BearSSL itself from platform entropy, so that
// seeder reports failure and is not used) and zlib's gz* file functions.
//
// Library code compiled with a red zone (Debian's) is safe on this platform:
// interrupts are taken only while the idle loop halts, and CPU exceptions
// switch to their own stacks.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string_view>
#include <unistd.h>

#include "morgana/core/format.h"
#include "morgana/platform/interface.h"

// NOLINTBEGIN(readability-identifier-naming, bugprone-reserved-identifier): C library names.
namespace {

constinit int g_errno = 0;

int fail_with(int error) {
  g_errno = error;
  return -1;
}

void swap_bytes(unsigned char* a, unsigned char* b, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    unsigned char t = a[i];
    a[i] = b[i];
    b[i] = t;
  }
}

// Heap sort: O(n log n) without recursion or extra memory.
void sift_down(unsigned char* base, std::size_t root, std::size_t count, std::size_t size,
               int (*compare)(const void*, const void*)) {
  while (2 * root + 1 < count) {
    std::size_t child = 2 * root + 1;
    if (child + 1 < count && compare(base + child * size, base + (child + 1) * size) < 0) ++child;
    if (compare(base + root * size, base + child * size) >= 0) return;
    swap_bytes(base + root * size, base + child * size, size);
    root = child;
  }
}

// glibc's tolower() is inline: it reads this table, through the pointer that
// __ctype_tolower_loc returns, at indexes -128 to 255 (signed and unsigned
// chars and EOF). As glibc's "C" locale: A to Z become a to z, a negative
// char becomes its unsigned value, EOF (-1) stays, the rest stay.
struct TolowerTable {
  std::int32_t entries[384];
  constexpr TolowerTable() : entries() {
    for (int i = 0; i < 384; ++i) {
      int c = i - 128;
      if (c >= 'A' && c <= 'Z') c += 'a' - 'A';
      else if (c < -1) c += 256;
      entries[i] = c;
    }
  }
};
constinit const TolowerTable tolower_table;
constinit const std::int32_t* tolower_origin = tolower_table.entries + 128;

} // namespace

extern "C" {

const std::int32_t** __ctype_tolower_loc() noexcept { return &tolower_origin; }

int* __errno_location() noexcept { return &g_errno; }

int open(const char*, int, ...) { return fail_with(ENOENT); }
ssize_t read(int, void*, std::size_t) { return fail_with(EBADF); }
ssize_t write(int, const void*, std::size_t) { return fail_with(EBADF); }
int close(int) { return fail_with(EBADF); }
off64_t lseek64(int, off64_t, int) noexcept { return fail_with(EBADF); }

char* strerror(int error) noexcept {
  switch (error) {
  case 0: return const_cast<char*>("Success");
  case ENOENT: return const_cast<char*>("No such file or directory");
  case EBADF: return const_cast<char*>("Bad file descriptor");
  case ENOMEM: return const_cast<char*>("Cannot allocate memory");
  case EINVAL: return const_cast<char*>("Invalid argument");
  case EOVERFLOW: return const_cast<char*>("Value too large for defined data type");
  default: return const_cast<char*>("Unknown error");
  }
}

[[noreturn]] void __assert_fail(const char* assertion, const char* file, unsigned int line,
                                const char* function) noexcept {
  morgana::StringBuilder<256> message;
  morgana::format_to(message, "{}:{}: {}: assertion '{}' failed", std::string_view(file), line,
                     std::string_view(function), std::string_view(assertion));
  morgana::platform::abort(message.view());
}

void qsort(void* base, std::size_t count, std::size_t size, int (*compare)(const void*, const void*)) {
  auto* bytes = static_cast<unsigned char*>(base);
  if (count < 2 || size == 0) return;
  for (std::size_t root = count / 2; root-- > 0;) sift_down(bytes, root, count, size, compare);
  for (std::size_t end = count - 1; end > 0; --end) {
    swap_bytes(bytes, bytes + end * size, size);
    sift_down(bytes, 0, end, size, compare);
  }
}

} // extern "C"
// NOLINTEND(readability-identifier-naming, bugprone-reserved-identifier)
