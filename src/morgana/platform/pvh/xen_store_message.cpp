#include "morgana/platform/pvh/xen_store_message.h"

#include "morgana/platform/pvh/xen_ring.h"

#include <array>
#include <utility>

namespace morgana::pvh::xen::store {
namespace {

// xsd_errors[] of xs_wire.h, those a client can act on; the rest are Errc::io_error.
constexpr std::array<std::pair<std::string_view, Errc>, 11> known_errors{{
    {"ENOENT", Errc::not_found},
    {"EAGAIN", Errc::would_block},
    {"EEXIST", Errc::in_use},
    {"EBUSY", Errc::in_use},
    {"EINVAL", Errc::invalid_argument},
    {"EACCES", Errc::unsupported},
    {"EPERM", Errc::unsupported},
    {"ENOSYS", Errc::unsupported},
    {"ENOMEM", Errc::no_memory},
    {"ENOSPC", Errc::no_space},
    {"E2BIG", Errc::no_space},
}};

// The contexts below are static strings: an error's context outlives the reply buffer.
Error error_reply(Bytes payload) {
  auto text = as_string(payload);
  if (text.empty() || text.back() != '\0') return Error{Errc::malformed, "xenstore: error reply not NUL-terminated"};
  text.remove_suffix(1);
  for (const auto& [name, code] : known_errors)
    if (text == name) return Error{code, name};
  return Error{Errc::io_error, "xenstore: error reply"};
}

Result<void> check_ok(Bytes payload) {
  if (as_string(payload) != std::string_view("OK\0", 3)) return fail(Errc::malformed, "xenstore: reply is not OK");
  return {};
}

Result<void> check_names(Bytes payload) {
  auto text = as_string(payload);
  if (!text.empty() && text.back() != '\0') return fail(Errc::malformed, "xenstore: directory not NUL-terminated");
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\0', start);
    auto name = text.substr(start, end - start);
    if (name.empty()) return fail(Errc::malformed, "xenstore: empty name in directory");
    if (name.find('/') != std::string_view::npos) return fail(Errc::malformed, "xenstore: '/' in a directory name");
    start = end + 1;
  }
  return {};
}

Result<void> check_transaction_id(Bytes payload) {
  auto text = as_string(payload);
  if (text.size() < 2 || text.back() != '\0') return fail(Errc::malformed, "xenstore: transaction id");
  text.remove_suffix(1);
  std::uint64_t id = 0;
  for (char digit : text) {
    if (digit < '0' || digit > '9') return fail(Errc::malformed, "xenstore: transaction id not decimal");
    id = id * 10 + static_cast<std::uint64_t>(digit - '0');
    if (id > UINT32_MAX) return fail(Errc::malformed, "xenstore: transaction id past 32 bits");
  }
  if (id == 0) return fail(Errc::malformed, "xenstore: transaction id 0");
  return {};
}

} // namespace

Result<Header> parse_header(Bytes bytes) {
  if (bytes.size() < header_size) return fail(Errc::truncated, "xenstore header");
  Header header{load_field<std::uint32_t>(bytes.data()), load_field<std::uint32_t>(bytes.data() + 4),
                load_field<std::uint32_t>(bytes.data() + 8), load_field<std::uint32_t>(bytes.data() + 12)};
  if (header.length > payload_max) return fail(Errc::malformed, "xenstore: payload longer than 4096 bytes");
  return header;
}

void write_header(const Header& header, std::byte* out) {
  store_field<std::uint32_t>(out, header.type);
  store_field<std::uint32_t>(out + 4, header.request_id);
  store_field<std::uint32_t>(out + 8, header.transaction_id);
  store_field<std::uint32_t>(out + 12, header.length);
}

Result<Bytes> check_reply(Type request, const Header& header, Bytes payload) {
  if (payload.size() != header.length || payload.size() > payload_max)
    return fail(Errc::malformed, "xenstore: payload length differs from the header's");
  if (header.type == std::to_underlying(Type::error)) return std::unexpected(error_reply(payload));
  if (header.type != std::to_underlying(request)) return fail(Errc::malformed, "xenstore: reply of another type");
  switch (request) {
  case Type::read: break;
  case Type::directory: TRY(check_names(payload)); break;
  case Type::transaction_start: TRY(check_transaction_id(payload)); break;
  case Type::write:
  case Type::mkdir:
  case Type::rm:
  case Type::transaction_end:
  case Type::watch:
  case Type::unwatch: TRY(check_ok(payload)); break;
  case Type::watch_event:
  case Type::error: return fail(Errc::invalid_argument, "xenstore: not a request type");
  }
  return payload;
}

std::uint32_t transaction_id(Bytes checked_payload) {
  std::uint32_t id = 0;
  for (char digit : as_string(checked_payload)) {
    if (digit == '\0') break;
    id = id * 10 + static_cast<std::uint32_t>(digit - '0');
  }
  return id;
}

std::optional<std::string_view> Names::next() {
  if (m_rest.empty()) return std::nullopt;
  auto end = m_rest.find('\0');
  auto name = m_rest.substr(0, end);
  m_rest.remove_prefix(end == std::string_view::npos ? m_rest.size() : end + 1);
  return name;
}

} // namespace morgana::pvh::xen::store
