#include "morgana/git/pkt_line.h"

#include <cstring>

#include "morgana/core/ascii.h"
#include "morgana/core/memory.h"

namespace morgana::git {

namespace {

constexpr std::string_view error_prefix = "ERR ";

// The four hex digits of a pkt-line length (either case, as git accepts).
Result<std::size_t> parse_length(Bytes header) {
  std::size_t length = 0;
  for (auto byte : header) {
    int digit = ascii::hex_digit_value(static_cast<char>(byte));
    if (digit < 0) return fail(Errc::malformed, "pkt-line length is not hex");
    length = length * 16 + static_cast<std::size_t>(digit);
  }
  return length;
}

} // namespace

std::string_view PktLine::text() const {
  auto text = as_string(payload);
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

Result<PktLineDecoder> PktLineDecoder::create() {
  return PktLineDecoder(TRY(try_make_unique<std::byte[]>("pkt-line buffer", capacity)));
}

Result<void> PktLineDecoder::append(Bytes data) {
  if (data.empty()) return {};
  if (m_start > 0) {
    // Decoded lines are gone: move the rest to the front.
    if (m_end > m_start) std::memmove(m_buffer.get(), m_buffer.get() + m_start, m_end - m_start);
    m_end -= m_start;
    m_start = 0;
  }
  if (data.size() > capacity - m_end) return fail(Errc::no_space, "pkt-line buffer full");
  std::memcpy(m_buffer.get() + m_end, data.data(), data.size());
  m_end += data.size();
  return {};
}

Result<std::optional<PktLine>> PktLineDecoder::next() {
  ByteReader reader(buffered());
  auto header = reader.bytes(pkt_header_size);
  if (!header) return std::optional<PktLine>{};
  auto length = TRY(parse_length(*header));
  PktLine line;
  switch (length) {
  case 0: line.kind = PktKind::flush; break;
  case 1: line.kind = PktKind::delim; break;
  case 2: line.kind = PktKind::response_end; break;
  case 3: return fail(Errc::malformed, "pkt-line length 0003");
  default: {
    if (length > max_pkt_line) return fail(Errc::malformed, "pkt-line longer than 65520 bytes");
    auto payload = reader.bytes(length - pkt_header_size);
    if (!payload) return std::optional<PktLine>{};
    line.kind = PktKind::data;
    line.payload = *payload;
    if (as_string(*payload).starts_with(error_prefix)) {
      m_start += reader.position();
      m_error_text = line.text().substr(error_prefix.size());
      return fail(Errc::io_error, "the server sent an error (ERR)");
    }
  }
  }
  m_start += reader.position();
  return line;
}

void PktLineWriter::line(std::string_view payload) {
  if (payload.size() > max_pkt_payload) {
    m_too_long = true;
    return;
  }
  static constexpr char digits[] = "0123456789abcdef";
  auto length = payload.size() + pkt_header_size;
  for (int shift = 12; shift >= 0; shift -= 4) m_out.push_back(digits[(length >> shift) & 15]);
  m_out.append(payload);
}

Result<std::string> PktLineWriter::finish() {
  if (m_too_long) return fail(Errc::invalid_argument, "pkt-line payload longer than 65516 bytes");
  return std::move(m_out);
}

bool is_object_id(std::string_view text) {
  if (text.size() != 40) return false;
  for (char c : text) {
    if (!ascii::is_digit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

} // namespace morgana::git
