#pragma once

// A small least-recently-used cache of decoded objects under a byte budget:
// delta bases a pack decodes again and again stay at hand, and memory stays
// near the pack's own size.

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

#include "morgana/git/object.h"

namespace morgana::git {

class ObjectCache {
public:
  explicit ObjectCache(std::size_t budget) : m_budget(budget) {}

  [[nodiscard]] std::optional<Object> find(std::uint32_t key);
  // Objects over a quarter of the budget are not kept.
  void insert(std::uint32_t key, const Object& object);

  [[nodiscard]] std::size_t bytes() const { return m_bytes; }
  [[nodiscard]] std::size_t budget() const { return m_budget; }
  [[nodiscard]] std::size_t size() const { return m_entries.size(); }

private:
  struct Entry {
    std::uint32_t key;
    Object object;
  };
  std::size_t m_budget;
  std::size_t m_bytes = 0;
  std::list<Entry> m_entries; // most recently used first
  std::unordered_map<std::uint32_t, std::list<Entry>::iterator> m_by_key;
};

} // namespace morgana::git
