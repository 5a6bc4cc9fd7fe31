#include "morgana/core/memory.h"

#include "morgana/platform/interface.h"

namespace morgana {

MemoryStats memory_stats() {
  auto stats = platform::memory_stats();
  return {stats.total, stats.free};
}

} // namespace morgana
