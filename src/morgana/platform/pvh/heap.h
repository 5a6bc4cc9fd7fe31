#pragma once

// The heap behind operator new and malloc on pvh: a two-level segregated-fit
// allocator (TLSF, Masmano et al. 2004) over the RAM the memory map reports.
// Allocation and free take constant time; free blocks merge with free
// neighbours at once. Blocks are 16-byte aligned; larger alignments are
// carved out of a bigger block. Failure returns nullptr.

#include <cstddef>
#include <cstdint>

namespace morgana::pvh {

class Heap {
public:
  constexpr Heap() = default;
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Adds [start, start + size) to the heap (addresses the heap may write: on
  // pvh, identity-mapped RAM); regions too small to hold a block are ignored.
  void add_region(std::uintptr_t start, std::size_t size);

  [[nodiscard]] void* allocate(std::size_t size, std::size_t alignment = 16);
  // Frees a pointer allocate() returned; nullptr is ignored. Stops the image
  // on a pointer that is not an allocated block (double free, wild pointer).
  void free(void* pointer);
  // Grows or shrinks in place when it can, else moves; nullptr on failure
  // (the old block stays valid).
  [[nodiscard]] void* reallocate(void* pointer, std::size_t size);
  [[nodiscard]] std::size_t usable_size(const void* pointer) const;

  struct Stats {
    std::size_t total;    // bytes in regions
    std::size_t in_use;   // bytes in allocated blocks, headers included
    std::size_t peak;     // highest in_use so far
    std::size_t failures; // allocations that returned nullptr
  };
  [[nodiscard]] Stats stats() const { return m_stats; }

  // Checks every block's links and sizes; returns false on corruption.
  [[nodiscard]] bool check() const;

private:
  struct Block;
  static constexpr int second_level_log2 = 4;
  static constexpr int second_level_count = 1 << second_level_log2;
  static constexpr int alignment_log2 = 4;
  static constexpr int first_level_shift = second_level_log2 + alignment_log2;
  static constexpr int first_level_count = 48 - first_level_shift + 1;
  static constexpr int max_regions = 16;

  static Block* block_at(std::uintptr_t address);
  static void mapping(std::size_t size, int& first, int& second);
  void insert(Block* block);
  void remove(Block* block);
  Block* find_free(std::size_t size);
  Block* split(Block* block, std::size_t size);
  Block* merge_with_next(Block* block);
  void release(Block* block);
  [[nodiscard]] bool owns(const void* pointer) const;
  Block* block_of(void* pointer);

  std::uint64_t m_first_level_map = 0;
  std::uint32_t m_second_level_map[first_level_count] = {};
  Block* m_free[first_level_count][second_level_count] = {};
  struct Region {
    std::uintptr_t start, end;
  };
  Region m_regions[max_regions] = {};
  int m_region_count = 0;
  Stats m_stats = {};
};

// The one heap of the image.
Heap& heap();

} // namespace morgana::pvh
