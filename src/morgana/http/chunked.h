#pragma once

// The chunked transfer coding (RFC 9112 §7.1), decoded incrementally one
// byte of framing at a time, so input may be split anywhere. Chunk
// extensions are checked for allowed characters and ignored (§7.1.1);
// trailer fields are read and discarded (RFC 9110 §6.5 lets a recipient
// ignore them).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "morgana/http/status.h"

namespace morgana::http {

struct ChunkedLimits {
  std::size_t max_extension = 1024;       // bytes of extensions per chunk line
  std::size_t max_trailer_section = 8192; // bytes of trailer fields
};

class ChunkedDecoder {
public:
  explicit ChunkedDecoder(ChunkedLimits limits = {}) : m_limits(limits) {}

  struct Step {
    std::size_t consumed = 0;    // bytes of the input used
    std::size_t data_offset = 0; // where chunk data starts in the input
    std::size_t data_size = 0;   // how much chunk data, all within `consumed`
  };

  // Consumes a prefix of `input`: framing, and at most one run of chunk data,
  // stopping after data so the caller can hand it on. Errors are 400 (bad
  // syntax) or 431 (trailer section too large).
  [[nodiscard]] ParseResult<Step> decode(std::string_view input);
  [[nodiscard]] bool done() const { return m_state == State::done; }

private:
  enum class State : std::uint8_t {
    size,
    extension,
    size_lf,
    data,
    data_cr,
    data_lf,
    trailer_start,
    trailer_line,
    trailer_lf,
    final_lf,
    done,
  };

  [[nodiscard]] ParseResult<void> framing_byte(char c);

  ChunkedLimits m_limits;
  State m_state = State::size;
  std::uint64_t m_size = 0;
  std::size_t m_digits = 0;
  std::size_t m_extension_length = 0;
  std::size_t m_trailer_length = 0;
};

} // namespace morgana::http
