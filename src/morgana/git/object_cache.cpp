#include "morgana/git/object_cache.h"

namespace morgana::git {

std::optional<Object> ObjectCache::find(std::uint32_t key) {
  auto found = m_by_key.find(key);
  if (found == m_by_key.end()) return std::nullopt;
  m_entries.splice(m_entries.begin(), m_entries, found->second);
  return found->second->object;
}

void ObjectCache::insert(std::uint32_t key, const Object& object) {
  if (object.data.size() > m_budget / 4 || m_by_key.contains(key)) return;
  while (!m_entries.empty() && m_bytes + object.data.size() > m_budget) {
    m_bytes -= m_entries.back().object.data.size();
    m_by_key.erase(m_entries.back().key);
    m_entries.pop_back();
  }
  m_entries.push_front({key, object});
  m_by_key.emplace(key, m_entries.begin());
  m_bytes += object.data.size();
}

} // namespace morgana::git
