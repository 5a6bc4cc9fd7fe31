#pragma once

// The heap behind operator new, for layers that size their buffers to fit
// (TCP rings, the HTTP server's low-memory refusal).

#include <cstddef>

namespace morgana {

struct MemoryStats {
  std::size_t total; // bytes the allocator manages (or the process may use)
  std::size_t free;  // of those, bytes not allocated; not necessarily in one piece
};

[[nodiscard]] MemoryStats memory_stats();

} // namespace morgana
