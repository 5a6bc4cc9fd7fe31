#include "morgana/git/object_store.h"

#include "morgana/core/memory.h"

namespace morgana::git {

Result<void> ObjectStore::add(Pack pack) {
  m_packs.push_back(TRY(try_make_unique<Pack>("git pack", std::move(pack))));
  return {};
}

Result<Object> ObjectStore::read(const ObjectId& id) {
  // Newest first: a later fetch is where recent objects are.
  for (auto pack = m_packs.rbegin(); pack != m_packs.rend(); ++pack) {
    if (auto index = (*pack)->find(id)) return (*pack)->read_entry(*index, this);
  }
  return fail(Errc::not_found, "git: object not in the store");
}

bool ObjectStore::contains(const ObjectId& id) const {
  for (const auto& pack : m_packs)
    if (pack->contains(id)) return true;
  return false;
}

std::size_t ObjectStore::object_count() const {
  std::size_t count = 0;
  for (const auto& pack : m_packs) count += pack->entries().size();
  return count;
}

std::size_t ObjectStore::memory_bytes() const {
  std::size_t bytes = 0;
  for (const auto& pack : m_packs) bytes += pack->bytes().size() + pack->cache().bytes();
  return bytes;
}

} // namespace morgana::git
