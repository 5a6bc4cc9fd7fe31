#include "morgana/git/capabilities.h"

namespace morgana::git {

namespace {

std::string_view key_of(std::string_view entry) { return entry.substr(0, entry.find('=')); }

} // namespace

Result<Capabilities> Capabilities::parse_v0(std::string_view list) {
  Capabilities capabilities;
  while (!list.empty()) {
    auto space = list.find(' ');
    auto entry = list.substr(0, space);
    list = space == std::string_view::npos ? std::string_view{} : list.substr(space + 1);
    if (!entry.empty()) TRY(capabilities.add(entry));
  }
  return capabilities;
}

Result<void> Capabilities::add(std::string_view entry) {
  if (entry.empty() || key_of(entry).empty()) return fail(Errc::malformed, "empty capability");
  for (char c : entry) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return fail(Errc::malformed, "control byte in capability");
  }
  if (m_entries.size() >= max_entries) return fail(Errc::limit_reached, "too many capabilities");
  m_entries.emplace_back(entry);
  return {};
}

bool Capabilities::has(std::string_view key) const { return value(key).has_value(); }

std::optional<std::string_view> Capabilities::value(std::string_view key) const {
  for (const auto& entry : m_entries) {
    std::string_view view = entry;
    if (key_of(view) != key) continue;
    return view.size() > key.size() ? view.substr(key.size() + 1) : std::string_view{};
  }
  return std::nullopt;
}

std::vector<std::string_view> Capabilities::all_values(std::string_view key) const {
  std::vector<std::string_view> values;
  for (const auto& entry : m_entries) {
    std::string_view view = entry;
    if (key_of(view) == key) values.push_back(view.size() > key.size() ? view.substr(key.size() + 1) : "");
  }
  return values;
}

bool Capabilities::has_feature(std::string_view key, std::string_view feature) const {
  auto list = value(key);
  if (!list) return false;
  std::string_view rest = *list;
  while (!rest.empty()) {
    auto space = rest.find(' ');
    if (rest.substr(0, space) == feature) return true;
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  return false;
}

Result<void> Capabilities::check_object_format() const {
  auto format = value("object-format");
  if (!format || *format == "sha1") return {};
  if (*format == "sha256")
    return fail(Errc::unsupported, "the repository uses SHA-256 object ids (object-format=sha256); only SHA-1 "
                                   "repositories are supported");
  return fail(Errc::unsupported, "the repository uses an unknown object format; only SHA-1 is supported");
}

} // namespace morgana::git
