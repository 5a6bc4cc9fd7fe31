#include "morgana/blog/escape.h"

#include <cstdint>

namespace morgana::blog {
namespace {

constexpr std::string_view replacement_character = "\xEF\xBF\xBD"; // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `text` (RFC
// 3629 §4's syntax), or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  auto lead = byte(0);
  std::size_t length;
  std::uint8_t low = 0x80;  // the second byte's bounds, narrowed where overlongs,
  std::uint8_t high = 0xbf; // surrogates or code points past U+10FFFF start
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

bool is_forbidden_ascii(char c) {
  auto code = static_cast<unsigned char>(c);
  return (code < 0x20 && c != '\t' && c != '\n' && c != '\r') || code == 0x7f;
}

} // namespace

void append_escaped(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  while (!text.empty()) {
    auto length = utf8_sequence_length(text);
    if (length == 0) {
      out += replacement_character;
      text.remove_prefix(1);
      continue;
    }
    auto sequence = text.substr(0, length);
    text.remove_prefix(length);
    if (length == 1) {
      switch (sequence[0]) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&#39;"; continue;
      default: break;
      }
      if (is_forbidden_ascii(sequence[0])) {
        out += replacement_character;
        continue;
      }
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF.
    if (sequence == "\xEF\xBF\xBE" || sequence == "\xEF\xBF\xBF") {
      out += replacement_character;
      continue;
    }
    out += sequence;
  }
}

std::string escaped(std::string_view text) {
  std::string out;
  append_escaped(out, text);
  return out;
}

} // namespace morgana::blog
