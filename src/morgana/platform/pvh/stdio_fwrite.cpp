// fwrite, for GMP (linked for TLS's P-256 and X25519, src/morgana/tls/fast_ec.h):
// the members TLS pulls in reach mpz_realloc, whose only stdio call writes
// "GNU MP: Cannot reallocate memory" or an overflow message to stderr before
// abort(). stderr goes to the console, as fprintf's output does (printf.cpp);
// there is no other FILE.

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <string_view>

#include "morgana/platform/interface.h"

// NOLINTBEGIN(readability-identifier-naming): a C library name.
extern "C" std::size_t fwrite(const void* data, std::size_t size, std::size_t count, FILE* stream) {
  if (stream != stderr) {
    errno = EBADF;
    return 0;
  }
  morgana::platform::ConsoleSink console;
  console.write(std::string_view(static_cast<const char*>(data), size * count));
  return count;
}
// NOLINTEND(readability-identifier-naming)
