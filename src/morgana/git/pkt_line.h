#pragma once

// pkt-line framing (gitprotocol-common "pkt-line Format"): four hex digits
// giving the length of the line including themselves, then the payload.
// Lengths 0000 (flush), 0001 (delim, v2) and 0002 (response-end, v2) carry
// no payload; 0003 is invalid; a line is at most 65520 bytes.
//
//   PktLineDecoder decoder = TRY(PktLineDecoder::create());
//   TRY(decoder.append(bytes_from_the_stream));
//   while (auto line = TRY(decoder.next())) { ... line->text() ... }
//
// A data line "ERR <message>" may come at any point; next() turns it into
// Errc::io_error and keeps the server's message in error_text().

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"

namespace morgana::git {

inline constexpr std::size_t max_pkt_line = 65520;
inline constexpr std::size_t pkt_header_size = 4;
inline constexpr std::size_t max_pkt_payload = max_pkt_line - pkt_header_size;

enum class PktKind : std::uint8_t { data, flush, delim, response_end };

struct PktLine {
  PktKind kind = PktKind::flush;
  Bytes payload; // data lines only; valid until the decoder's next call

  [[nodiscard]] bool is_data() const { return kind == PktKind::data; }
  // The payload as text without its trailing LF (text lines end in one by convention).
  [[nodiscard]] std::string_view text() const;
};

class PktLineDecoder {
public:
  // Room for one whole line and a read's worth of bytes after it.
  static constexpr std::size_t capacity = 2 * max_pkt_line;

  // Errc::no_memory when the buffer cannot be allocated.
  [[nodiscard]] static Result<PktLineDecoder> create();

  // Adds bytes read from the stream. Errc::no_space when they do not fit
  // behind what is still undecoded (read at most `capacity - buffered().size()`).
  [[nodiscard]] Result<void> append(Bytes data);
  // The next whole line, or nullopt when more bytes are needed. Errc::malformed
  // for a bad length; Errc::io_error for "ERR <message>" (see error_text()).
  [[nodiscard]] Result<std::optional<PktLine>> next();

  // Bytes received but not yet decoded: a raw packfile after a v0 response
  // without side-band is handed on from here.
  // How many bytes append() takes now.
  [[nodiscard]] std::size_t free_space() const { return capacity - (m_end - m_start); }
  [[nodiscard]] Bytes buffered() const { return {m_buffer.get() + m_start, m_end - m_start}; }
  void discard_buffered() { m_start = m_end = 0; }

  // The message of the latest "ERR" line; empty before one.
  [[nodiscard]] std::string_view error_text() const { return m_error_text; }

private:
  explicit PktLineDecoder(std::unique_ptr<std::byte[]> buffer) : m_buffer(std::move(buffer)) {}

  std::unique_ptr<std::byte[]> m_buffer;
  std::size_t m_start = 0;
  std::size_t m_end = 0;
  std::string m_error_text;
};

// Builds a request of pkt-lines. A payload longer than max_pkt_payload makes
// finish() fail (sticky, as ByteWriter's overflow).
class PktLineWriter {
public:
  // One data line holding exactly `payload` (text lines include their LF).
  void line(std::string_view payload);
  void flush() { m_out.append("0000"); }
  void delim() { m_out.append("0001"); }

  [[nodiscard]] Result<std::string> finish();
  [[nodiscard]] std::size_t size() const { return m_out.size(); }

private:
  std::string m_out;
  bool m_too_long = false;
};

// Whether `text` is an object id as the wire carries it: 40 lowercase hex digits (SHA-1).
[[nodiscard]] bool is_object_id(std::string_view text);

} // namespace morgana::git
