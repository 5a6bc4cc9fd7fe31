#pragma once

// The header block that opens commits and tags: "key value\n" lines, a value
// continued on lines that start with a space (gpgsig, mergetag), then an
// empty line and the message (gitformat-signature(5)).

#include <initializer_list>
#include <optional>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"

namespace morgana::git {

struct HeaderField {
  std::string_view key;
  // As in the object: continuation lines keep their "\n " (git's own
  // parsers give the value with the leading spaces removed).
  std::string_view value;
};

// Reads header fields off the front of an object's text.
class HeaderReader {
public:
  explicit HeaderReader(std::string_view text) : m_rest(text) {}

  // The next field, or nullopt at the empty line that ends the headers (the
  // message is then message()). Errc::malformed for an unterminated header
  // block or a line without a key.
  [[nodiscard]] Result<std::optional<HeaderField>> next();
  // The next field if its key is `key`; otherwise nullopt, and nothing is read.
  [[nodiscard]] Result<std::optional<HeaderField>> next_if(std::string_view key);
  // The value of the next field, which must have key `key` (else Errc::malformed with `missing`).
  [[nodiscard]] Result<std::string_view> expect(std::string_view key, std::string_view missing);
  // The fields left before the message; one with a `reserved` key is Errc::malformed (a header out of order).
  [[nodiscard]] Result<std::vector<HeaderField>> rest(std::initializer_list<std::string_view> reserved);
  [[nodiscard]] std::string_view message() const { return m_rest; }

private:
  std::string_view m_rest;
  bool m_done = false;
};

} // namespace morgana::git
