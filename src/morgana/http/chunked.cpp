#include "morgana/http/chunked.h"

#include <algorithm>
#include <limits>

#include "morgana/core/ascii.h"
#include "morgana/http/headers.h"

namespace morgana::http {

ParseResult<void> ChunkedDecoder::framing_byte(char c) {
  switch (m_state) {
  case State::size:
    if (int digit = ascii::hex_digit_value(c); digit >= 0) {
      if (m_size > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
        return reject(Status::bad_request, "chunk size overflows");
      }
      m_size = m_size * 16 + static_cast<std::uint64_t>(digit);
      ++m_digits;
      return {};
    }
    if (m_digits == 0) return reject(Status::bad_request, "chunk size without digits");
    if (c == '\r') {
      m_state = State::size_lf;
      return {};
    }
    // BWS before ';' (RFC 9112 §7.1.1).
    if (c == ';' || c == ' ' || c == '\t') {
      m_state = State::extension;
      m_extension_length = 1;
      return {};
    }
    return reject(Status::bad_request, "bad chunk size");
  case State::extension:
    if (c == '\r') {
      m_state = State::size_lf;
      return {};
    }
    if (!is_field_char(c)) return reject(Status::bad_request, "bad chunk extension");
    if (++m_extension_length > m_limits.max_extension) return reject(Status::bad_request, "chunk extension too long");
    return {};
  case State::size_lf:
    if (c != '\n') return reject(Status::bad_request, "chunk size line without CRLF");
    m_state = m_size == 0 ? State::trailer_start : State::data;
    return {};
  case State::data_cr:
    if (c != '\r') return reject(Status::bad_request, "chunk data longer than its size");
    m_state = State::data_lf;
    return {};
  case State::data_lf:
    if (c != '\n') return reject(Status::bad_request, "chunk data without CRLF");
    m_state = State::size;
    m_size = 0;
    m_digits = 0;
    return {};
  case State::trailer_start:
    if (c == '\r') {
      m_state = State::final_lf;
      return {};
    }
    // Obs-fold is as unwelcome in trailers as in headers (RFC 9112 §5.2).
    if (c == ' ' || c == '\t') return reject(Status::bad_request, "obs-fold in trailer");
    m_state = State::trailer_line;
    [[fallthrough]];
  case State::trailer_line:
    if (++m_trailer_length > m_limits.max_trailer_section) {
      return reject(Status::request_header_fields_too_large, "trailer section too large");
    }
    if (c == '\r') {
      m_state = State::trailer_lf;
      return {};
    }
    if (!is_field_char(c)) return reject(Status::bad_request, "bad byte in trailer");
    return {};
  case State::trailer_lf:
    if (c != '\n') return reject(Status::bad_request, "trailer line without CRLF");
    m_state = State::trailer_start;
    return {};
  case State::final_lf:
    if (c != '\n') return reject(Status::bad_request, "chunked body without final CRLF");
    m_state = State::done;
    return {};
  case State::data:
  case State::done: break;
  }
  return reject(Status::bad_request, "chunked decoder misuse");
}

ParseResult<ChunkedDecoder::Step> ChunkedDecoder::decode(std::string_view input) {
  Step step;
  while (step.consumed < input.size() && m_state != State::done) {
    if (m_state == State::data) {
      auto available = input.size() - step.consumed;
      auto take = static_cast<std::size_t>(std::min<std::uint64_t>(m_size, available));
      step.data_offset = step.consumed;
      step.data_size = take;
      step.consumed += take;
      m_size -= take;
      if (m_size == 0) m_state = State::data_cr;
      return step;
    }
    TRY(framing_byte(input[step.consumed]));
    ++step.consumed;
  }
  return step;
}

} // namespace morgana::http
