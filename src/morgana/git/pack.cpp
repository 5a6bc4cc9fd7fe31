#include "morgana/git/pack.h"

#include <algorithm>

#include "morgana/core/memory.h"
#include "morgana/git/delta.h"

namespace morgana::git {

Result<ObjectBuffer> inflate_entry(Inflater& inflater, Bytes pack, const PackEntry& entry) {
  if (entry.data_offset > pack.size()) return fail(Errc::malformed, "git: pack entry past the pack's end");
  auto buffer = TRY(ObjectBuffer::allocate(entry.size));
  TRY(inflate_exact(inflater, pack.subspan(entry.data_offset), buffer.bytes()));
  return buffer;
}

Result<Pack> Pack::create(PackBytes bytes, std::size_t size, std::vector<PackEntry> entries, ObjectId checksum,
                          PackLimits limits) {
  auto inflater = TRY(try_make_unique<Inflater>("git pack inflater"));
  return Pack(std::move(bytes), size, std::move(entries), checksum, limits, std::move(inflater));
}

Pack::Pack(PackBytes bytes, std::size_t size, std::vector<PackEntry> entries, ObjectId checksum, PackLimits limits,
           std::unique_ptr<Inflater> inflater)
    : m_bytes(std::move(bytes)), m_size(size), m_entries(std::move(entries)), m_checksum(checksum), m_limits(limits),
      m_inflater(std::move(inflater)), m_cache(limits.cache_budget) {
  m_by_id.resize(m_entries.size());
  for (std::uint32_t i = 0; i < m_by_id.size(); ++i) m_by_id[i] = i;
  std::sort(m_by_id.begin(), m_by_id.end(),
            [this](std::uint32_t a, std::uint32_t b) { return m_entries[a].id < m_entries[b].id; });
}

std::optional<std::size_t> Pack::find(const ObjectId& id) const {
  auto found = std::lower_bound(m_by_id.begin(), m_by_id.end(), id,
                                [this](std::uint32_t index, const ObjectId& key) { return m_entries[index].id < key; });
  if (found == m_by_id.end() || m_entries[*found].id != id) return std::nullopt;
  return *found;
}

Result<Object> Pack::read(const ObjectId& id, ObjectSource* external) {
  auto index = find(id);
  if (!index) return fail(Errc::not_found, "git: object not in this pack");
  return read_entry(*index, external);
}

Result<Object> Pack::read_entry(std::size_t index, ObjectSource* external) {
  if (index >= m_entries.size()) return fail(Errc::not_found, "git: no such pack entry");
  // Walk down to a whole object (or a cached one), then apply the deltas back up.
  std::vector<std::uint32_t> chain;
  auto current = static_cast<std::uint32_t>(index);
  Object base;
  for (;;) {
    if (auto cached = m_cache.find(current)) {
      base = *cached;
      break;
    }
    const auto& entry = m_entries[current];
    if (!entry.is_delta()) {
      base = TRY(inflate_entry(*m_inflater, bytes(), entry)).object(entry.type);
      m_cache.insert(current, base);
      break;
    }
    if (chain.size() > m_limits.max_delta_depth) return fail(Errc::limit_reached, "git: delta chain too deep");
    chain.push_back(current);
    if (entry.base != PackEntry::no_base) {
      current = entry.base;
      continue;
    }
    if (external == nullptr) return fail(Errc::not_found, "git: thin pack base is held nowhere");
    base = TRY(external->read(entry.base_id));
    break;
  }
  if (!chain.empty() && base.type != m_entries[chain.back()].type)
    return fail(Errc::malformed, "git: delta base of another type");
  for (auto link = chain.rbegin(); link != chain.rend(); ++link) {
    const auto& entry = m_entries[*link];
    auto delta = TRY(inflate_entry(*m_inflater, bytes(), entry));
    auto result = TRY(apply_delta(base.data, delta.bytes(), m_limits.max_object_size));
    base = result.object(entry.type);
    m_cache.insert(*link, base);
  }
  return base;
}

} // namespace morgana::git
