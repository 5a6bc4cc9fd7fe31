#include "morgana/git/object_headers.h"

namespace morgana::git {

Result<std::optional<HeaderField>> HeaderReader::next() {
  if (m_done) return std::optional<HeaderField>();
  if (m_rest.starts_with('\n')) {
    m_rest.remove_prefix(1);
    m_done = true;
    return std::optional<HeaderField>();
  }
  // A commit or tag without a message ends right after its headers.
  if (m_rest.empty()) {
    m_done = true;
    return std::optional<HeaderField>();
  }
  auto end = m_rest.find('\n');
  while (end != std::string_view::npos && end + 1 < m_rest.size() && m_rest[end + 1] == ' ')
    end = m_rest.find('\n', end + 1);
  if (end == std::string_view::npos) return fail(Errc::malformed, "git: header line without a newline");
  auto line = m_rest.substr(0, end);
  m_rest.remove_prefix(end + 1);
  auto space = line.find(' ');
  if (space == 0 || space == std::string_view::npos) return fail(Errc::malformed, "git: header line without a key");
  return std::optional<HeaderField>(HeaderField{line.substr(0, space), line.substr(space + 1)});
}

} // namespace morgana::git
