#pragma once

// Device memory (virtio::DmaMemory) comes from pvh::heap(), which in the test
// binary is given one buffer of its own, once, by whichever test needs it
// first. Its addresses stand for physical ones.

#include <cstdint>
#include <vector>

#include "morgana/platform/pvh/heap.h"

namespace morgana::test_support {

inline void give_the_heap_memory() {
  static bool given = false;
  if (given) return;
  given = true;
  static std::vector<std::uint64_t> memory(2 * 1024 * 1024); // 16 MiB
  pvh::heap().add_region(reinterpret_cast<std::uintptr_t>(memory.data()), memory.size() * sizeof(std::uint64_t));
}

} // namespace morgana::test_support
