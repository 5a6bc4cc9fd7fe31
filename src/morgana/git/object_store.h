#pragma once

// The objects of a repository held in memory: the packs fetched so far (a
// clone's pack, then the thin packs later fetches add), each decoded on
// demand. Its own ObjectSource, so a new thin pack's bases and an old pack's
// external bases are found in the packs before it.

#include <cstddef>
#include <memory>
#include <vector>

#include "morgana/core/result.h"
#include "morgana/git/object.h"
#include "morgana/git/pack.h"

namespace morgana::git {

class ObjectStore final : public ObjectSource {
public:
  ObjectStore() = default;
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  [[nodiscard]] Result<void> add(Pack pack);

  // Errc::not_found when no pack holds `id`.
  [[nodiscard]] Result<Object> read(const ObjectId& id) override;
  [[nodiscard]] bool contains(const ObjectId& id) const override;

  [[nodiscard]] std::size_t pack_count() const { return m_packs.size(); }
  [[nodiscard]] std::size_t object_count() const;
  // Pack bytes plus decoded objects in the packs' caches.
  [[nodiscard]] std::size_t memory_bytes() const;

private:
  static constexpr unsigned max_read_depth = 64;

  std::vector<std::unique_ptr<Pack>> m_packs; // oldest first
  unsigned m_read_depth = 0;                  // reads nested through thin-pack bases
};

} // namespace morgana::git
