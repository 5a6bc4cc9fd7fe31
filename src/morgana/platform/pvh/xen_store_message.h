#pragma once

// The xenstore wire protocol (xen/include/public/io/xs_wire.h): each message
// is struct xsd_sockmsg { u32 type; u32 req_id; u32 tx_id; u32 len; } in the
// guest's byte order, then `len` (at most 4096) bytes of payload. Requests
// carry NUL-terminated paths; replies carry a value (read), "OK" (write,
// transaction end), NUL-terminated names (directory), a decimal transaction
// id, or for XS_ERROR the name of an errno value. Replies come from outside
// the guest: everything here is checked before it is believed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"

namespace morgana::pvh::xen::store {

enum class Type : std::uint32_t {
  directory = 1,
  read = 2,
  watch = 4,
  unwatch = 5,
  transaction_start = 6,
  transaction_end = 7,
  write = 11,
  mkdir = 12,
  rm = 13,
  watch_event = 15,
  error = 16,
};

inline constexpr std::size_t header_size = 16;
inline constexpr std::size_t payload_max = 4096; // XENSTORE_PAYLOAD_MAX
inline constexpr std::size_t path_max = 3072;    // XENSTORE_ABS_PATH_MAX

struct Header {
  std::uint32_t type;
  std::uint32_t request_id;
  std::uint32_t transaction_id;
  std::uint32_t length;
};

// The header at the start of `bytes` (header_size of them): Errc::truncated
// when shorter, Errc::malformed when the length exceeds payload_max.
[[nodiscard]] Result<Header> parse_header(Bytes bytes);
void write_header(const Header& header, std::byte* out);

// The payload of the reply to a request of `request` type, checked against
// that type. XS_ERROR becomes its error (ENOENT is Errc::not_found, EAGAIN
// Errc::would_block, EEXIST and EBUSY Errc::in_use, ...); a reply of another
// type, or whose payload breaks the format, is Errc::malformed.
//   read              the value (any bytes)
//   write, mkdir, rm, transaction_end   "OK\0" (returns it)
//   directory         names, each NUL-terminated, none empty or with '/'
//   transaction_start decimal, non-zero, NUL-terminated
[[nodiscard]] Result<Bytes> check_reply(Type request, const Header& header, Bytes payload);

// The id in a checked transaction_start reply.
[[nodiscard]] std::uint32_t transaction_id(Bytes checked_payload);

// The names of a checked directory reply, one at a time.
class Names {
public:
  explicit Names(Bytes checked_payload) : m_rest(as_string(checked_payload)) {}
  [[nodiscard]] std::optional<std::string_view> next();

private:
  std::string_view m_rest;
};

} // namespace morgana::pvh::xen::store
