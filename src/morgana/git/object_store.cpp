#include "morgana/git/object_store.h"

#include "morgana/core/memory.h"

namespace morgana::git {

Result<void> ObjectStore::add(Pack pack) {
  m_packs.push_back(TRY(try_make_unique<Pack>("git pack", std::move(pack))));
  return {};
}

Result<Object> ObjectStore::read(const ObjectId& id) {
  // Oldest first: a pack's external bases were found in the packs before it
  // when it was indexed, so an object is always read from a pack whose bases
  // lie in older packs, and reading never goes round in a circle. The depth
  // guard is for a store that was filled some other way.
  if (m_read_depth >= max_read_depth) return fail(Errc::limit_reached, "git: thin pack bases nest too deeply");
  for (const auto& pack : m_packs) {
    if (auto index = pack->find(id)) {
      ++m_read_depth;
      auto object = pack->read_entry(*index, this);
      --m_read_depth;
      return object;
    }
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
