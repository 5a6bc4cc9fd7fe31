#include "morgana/core/command_line.h"

namespace morgana::args {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

} // namespace

Result<std::optional<std::string_view>> CommandLine::next() {
  std::size_t start = 0;
  while (start < m_rest.size() && is_space(m_rest[start])) ++start;
  if (start == m_rest.size()) {
    m_rest = {};
    return std::nullopt;
  }
  // Where the word ends, first, so that an unterminated one can be named as written.
  bool quoted = false;
  std::size_t end = start;
  for (; end < m_rest.size() && (quoted || !is_space(m_rest[end])); ++end)
    if (m_rest[end] == '"') quoted = !quoted;
  auto word = m_rest.subspan(start, end - start);
  m_rest = m_rest.subspan(end);
  if (quoted) {
    m_unterminated = {word.data(), word.size()};
    m_rest = {};
    return fail(Errc::invalid_argument, "unterminated double quote");
  }
  std::size_t kept = 0;
  for (char c : word)
    if (c != '"') word[kept++] = c;
  return std::string_view{word.data(), kept};
}

} // namespace morgana::args
