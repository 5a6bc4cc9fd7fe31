#pragma once

// A command line split into words as Linux splits its kernel's: at spaces,
// tabs and newlines, except inside double quotes, which group and are removed
// (`--name="full stack engineer"` and `"--name=full stack engineer"` are both
// the word `--name=full stack engineer`). Every quote is removed, wherever it
// stands (Linux removes those around a word or a value only; the two agree on
// those forms); a quote cannot be part of a word. Used for the pvh kernel
// command line and for the arguments baked in by ./morgana configure, which
// joins words the same way (its kernel_command_line).
//
// It needs no heap (pvh splits before the heap exists): the words are views
// into the line, which is rewritten in place without its quotes.

#include <optional>
#include <span>
#include <string_view>

#include "morgana/core/result.h"

namespace morgana::args {

class CommandLine {
public:
  explicit CommandLine(std::span<char> line) : m_rest(line) {}

  // The next word; nullopt after the last. A word whose quote is not closed
  // fails (invalid_argument) and ends the line; unterminated() is then that
  // word as written, quotes and all.
  [[nodiscard]] Result<std::optional<std::string_view>> next();
  [[nodiscard]] std::string_view unterminated() const { return m_unterminated; }

private:
  std::span<char> m_rest;
  std::string_view m_unterminated;
};

} // namespace morgana::args
