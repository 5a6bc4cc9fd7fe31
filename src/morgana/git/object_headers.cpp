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

Result<std::optional<HeaderField>> HeaderReader::next_if(std::string_view key) {
  auto saved = *this;
  auto field = TRY(next());
  if (field && field->key == key) return field;
  *this = saved;
  return std::optional<HeaderField>();
}

Result<std::string_view> HeaderReader::expect(std::string_view key, std::string_view missing) {
  auto field = TRY(next_if(key));
  if (!field) return fail(Errc::malformed, missing);
  return field->value;
}

Result<std::vector<HeaderField>> HeaderReader::rest(std::initializer_list<std::string_view> reserved) {
  std::vector<HeaderField> fields;
  for (auto field = TRY(next()); field; field = TRY(next())) {
    for (auto key : reserved)
      if (field->key == key) return fail(Errc::malformed, "git: a header repeated or out of order");
    fields.push_back(*field);
  }
  return fields;
}

} // namespace morgana::git
