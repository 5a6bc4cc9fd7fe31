#include "morgana/core/result.h"

#include "morgana/core/format.h"
#include "morgana/platform/interface.h"

namespace morgana {

std::string_view Error::name() const {
  switch (code) {
  case Errc::truncated: return "truncated";
  case Errc::no_space: return "no_space";
  case Errc::malformed: return "malformed";
  case Errc::bad_checksum: return "bad_checksum";
  case Errc::unsupported: return "unsupported";
  case Errc::no_memory: return "no_memory";
  case Errc::timed_out: return "timed_out";
  case Errc::cancelled: return "cancelled";
  case Errc::would_block: return "would_block";
  case Errc::not_found: return "not_found";
  case Errc::unreachable: return "unreachable";
  case Errc::in_use: return "in_use";
  case Errc::invalid_argument: return "invalid_argument";
  case Errc::closed: return "closed";
  case Errc::io_error: return "io_error";
  case Errc::no_entropy: return "no_entropy";
  case Errc::limit_reached: return "limit_reached";
  }
  return "unknown";
}

std::string_view Error::message() const {
  switch (code) {
  case Errc::truncated: return "input ends before the field does";
  case Errc::no_space: return "not enough room in the buffer";
  case Errc::malformed: return "malformed input";
  case Errc::bad_checksum: return "checksum mismatch";
  case Errc::unsupported: return "not supported";
  case Errc::no_memory: return "out of memory";
  case Errc::timed_out: return "timed out";
  case Errc::cancelled: return "cancelled";
  case Errc::would_block: return "operation would block";
  case Errc::not_found: return "not found";
  case Errc::unreachable: return "destination unreachable";
  case Errc::in_use: return "already in use";
  case Errc::invalid_argument: return "invalid argument";
  case Errc::closed: return "closed";
  case Errc::io_error: return "device I/O error";
  case Errc::no_entropy: return "no entropy source on this platform";
  case Errc::limit_reached: return "limit reached";
  }
  return "unknown error";
}

namespace detail {
void must_failed(const Error& error, const char* expression, const char* file, int line) {
  StringBuilder<512> text;
  format_to(text, "MUST({}) failed at {}:{}: {}", expression, file, line, error);
  platform::abort(text.view());
}
} // namespace detail

} // namespace morgana
