#include "morgana/platform/pvh/heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace morgana::pvh {
namespace {

constexpr std::size_t header = 16; // a block's header: the previous block's size, its own

// A heap over a buffer of its own: `size` bytes, 16-byte aligned.
class TestHeap {
public:
  explicit TestHeap(std::size_t size) : m_memory(size / 16 + 1), m_heap(std::make_unique<Heap>()) {
    m_heap->add_region(reinterpret_cast<std::uintptr_t>(m_memory.data()), size);
  }
  Heap& operator*() { return *m_heap; }
  Heap* operator->() { return m_heap.get(); }
  // The largest request the heap can satisfy when nothing is allocated: one
  // free block over the region, less its header and the end sentinel's.
  [[nodiscard]] std::size_t largest() const { return m_heap->stats().total - 2 * header; }

private:
  struct alignas(16) Granule {
    std::byte bytes[16];
  };
  std::vector<Granule> m_memory;
  std::unique_ptr<Heap> m_heap;
};

void fill(void* pointer, std::size_t size, std::uint8_t seed) {
  auto* bytes = static_cast<std::uint8_t*>(pointer);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>(seed + i * 7);
}

bool holds(const void* pointer, std::size_t size, std::uint8_t seed) {
  const auto* bytes = static_cast<const std::uint8_t*>(pointer);
  for (std::size_t i = 0; i < size; ++i)
    if (bytes[i] != static_cast<std::uint8_t>(seed + i * 7)) return false;
  return true;
}

TEST(HeapTest, AddRegionCountsAlignedBytesAndIgnoresTinyRegions) {
  TestHeap heap(64 * 1024);
  EXPECT_EQ(heap->stats().total, 64u * 1024);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_TRUE(heap->check());

  Heap empty;
  alignas(16) std::byte tiny[40];
  empty.add_region(reinterpret_cast<std::uintptr_t>(tiny), sizeof tiny);
  EXPECT_EQ(empty.stats().total, 0u);
  EXPECT_EQ(empty.allocate(1), nullptr);
  EXPECT_EQ(empty.stats().failures, 1u);
}

TEST(HeapTest, ManySizesAreAlignedDistinctAndKeepTheirContents) {
  TestHeap heap(4 << 20);
  struct Allocation {
    void* pointer;
    std::size_t size;
  };
  std::vector<Allocation> allocations;
  std::vector<std::size_t> sizes;
  for (std::size_t size = 0; size <= 600; ++size) sizes.push_back(size);
  for (std::size_t size = 1; size <= (std::size_t{1} << 18); size *= 2) {
    sizes.push_back(size - 1);
    sizes.push_back(size + 1);
  }
  for (auto size : sizes) {
    void* pointer = heap->allocate(size);
    ASSERT_NE(pointer, nullptr) << size;
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pointer) % 16, 0u) << size;
    EXPECT_GE(heap->usable_size(pointer), size);
    fill(pointer, size, static_cast<std::uint8_t>(allocations.size()));
    allocations.push_back({pointer, size});
  }
  ASSERT_TRUE(heap->check());
  for (std::size_t i = 0; i < allocations.size(); ++i)
    EXPECT_TRUE(holds(allocations[i].pointer, allocations[i].size, static_cast<std::uint8_t>(i))) << i;
  for (auto& allocation : allocations) heap->free(allocation.pointer);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_TRUE(heap->check());
}

TEST(HeapTest, OverAlignedAllocations) {
  TestHeap heap(1 << 20);
  std::vector<void*> pointers;
  for (std::size_t alignment = 32; alignment <= 8192; alignment *= 2) {
    for (std::size_t size : {1u, 100u, 4096u}) {
      void* pointer = heap->allocate(size, alignment);
      ASSERT_NE(pointer, nullptr) << alignment;
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pointer) % alignment, 0u) << alignment;
      fill(pointer, size, 1);
      pointers.push_back(pointer);
      ASSERT_TRUE(heap->check()) << alignment;
    }
  }
  for (void* pointer : pointers) heap->free(pointer);
  EXPECT_TRUE(heap->check());
  // The gaps carved off before aligned payloads merged back.
  EXPECT_NE(heap->allocate(heap.largest()), nullptr);
}

TEST(HeapTest, InvalidRequestsFail) {
  TestHeap heap(64 * 1024);
  EXPECT_EQ(heap->allocate(64, 48), nullptr); // not a power of two
  EXPECT_EQ(heap->allocate(std::size_t{1} << 50), nullptr);
  EXPECT_EQ(heap->allocate(SIZE_MAX), nullptr);
  EXPECT_EQ(heap->stats().failures, 3u);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_TRUE(heap->check());
  heap->free(nullptr); // ignored
  EXPECT_EQ(heap->usable_size(nullptr), 0u);
}

TEST(HeapTest, FragmentationThenCoalescingRestoresOneLargeBlock) {
  TestHeap heap(256 * 1024);
  std::vector<void*> blocks;
  while (void* pointer = heap->allocate(1000)) blocks.push_back(pointer);
  ASSERT_GT(blocks.size(), 200u);
  EXPECT_TRUE(heap->check());

  // Every other block freed: plenty of free bytes, none of them contiguous.
  for (std::size_t i = 0; i < blocks.size(); i += 2) heap->free(blocks[i]);
  auto stats = heap->stats();
  EXPECT_GT(stats.total - stats.in_use, stats.total / 3);
  EXPECT_EQ(heap->allocate(2100), nullptr);
  void* in_hole = heap->allocate(900);
  EXPECT_NE(in_hole, nullptr) << "a hole fits a smaller block";
  EXPECT_TRUE(heap->check());

  // Freeing the rest merges every hole with its neighbours into one block.
  for (std::size_t i = 1; i < blocks.size(); i += 2) heap->free(blocks[i]);
  heap->free(in_hole);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_TRUE(heap->check());
  EXPECT_NE(heap->allocate(heap.largest()), nullptr);
}

TEST(HeapTest, FreeingEverythingInAnyOrderLeavesOneBlock) {
  TestHeap heap(256 * 1024);
  std::vector<void*> blocks;
  while (void* pointer = heap->allocate(700)) blocks.push_back(pointer);
  ASSERT_EQ(heap->allocate(heap.largest()), nullptr);
  std::mt19937 random(7);
  std::shuffle(blocks.begin(), blocks.end(), random);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    heap->free(blocks[i]);
    ASSERT_TRUE(heap->check()) << i;
  }
  EXPECT_EQ(heap->stats().in_use, 0u);
  void* whole = heap->allocate(heap.largest());
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(heap->allocate(1), nullptr) << "the one block spans the region";
  heap->free(whole);
  EXPECT_TRUE(heap->check());
}

TEST(HeapTest, ExhaustionReturnsNullWithoutCorruption) {
  TestHeap heap(128 * 1024);
  std::vector<void*> blocks;
  std::size_t size = 1;
  while (void* pointer = heap->allocate(size)) {
    fill(pointer, size, static_cast<std::uint8_t>(blocks.size()));
    blocks.push_back(pointer);
    size = size * 3 % 2000 + 1;
  }
  auto failures = heap->stats().failures;
  EXPECT_GE(failures, 1u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(heap->allocate(4096), nullptr);
  EXPECT_EQ(heap->stats().failures, failures + 10);
  EXPECT_TRUE(heap->check());
  size = 1;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    EXPECT_TRUE(holds(blocks[i], size, static_cast<std::uint8_t>(i))) << i;
    size = size * 3 % 2000 + 1;
  }
  for (void* pointer : blocks) heap->free(pointer);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_NE(heap->allocate(heap.largest()), nullptr);
}

TEST(HeapTest, StatsCountBlocksWithHeadersAndThePeak) {
  TestHeap heap(64 * 1024);
  void* a = heap->allocate(100); // 100 + 16 rounded up to 128
  EXPECT_EQ(heap->stats().in_use, 128u);
  void* b = heap->allocate(1); // the 32-byte minimum
  EXPECT_EQ(heap->stats().in_use, 160u);
  heap->free(a);
  EXPECT_EQ(heap->stats().in_use, 32u);
  EXPECT_EQ(heap->stats().peak, 160u);
  heap->free(b);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_EQ(heap->stats().peak, 160u);
  EXPECT_EQ(heap->stats().failures, 0u);
}

TEST(HeapTest, ReallocateGrowsAndShrinksInPlaceWhenItCan) {
  TestHeap heap(64 * 1024);
  void* block = heap->allocate(100);
  fill(block, 100, 3);
  void* grown = heap->reallocate(block, 1000); // the free rest of the region follows
  EXPECT_EQ(grown, block);
  EXPECT_TRUE(holds(grown, 100, 3));
  EXPECT_GE(heap->usable_size(grown), 1000u);
  void* shrunk = heap->reallocate(grown, 50);
  EXPECT_EQ(shrunk, block);
  EXPECT_TRUE(holds(shrunk, 50, 3));
  EXPECT_EQ(heap->stats().in_use, 80u);
  EXPECT_TRUE(heap->check());
}

TEST(HeapTest, ReallocateMovesWhenBlockedAndKeepsTheOldBlockOnFailure) {
  TestHeap heap(64 * 1024);
  void* block = heap->allocate(100);
  void* neighbour = heap->allocate(100);
  fill(block, 100, 9);
  void* moved = heap->reallocate(block, 500);
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved, block);
  EXPECT_TRUE(holds(moved, 100, 9));
  EXPECT_TRUE(heap->check());

  EXPECT_EQ(heap->reallocate(moved, 1 << 20), nullptr);
  EXPECT_TRUE(holds(moved, 100, 9)) << "a failed reallocate leaves the block";
  EXPECT_EQ(heap->reallocate(moved, SIZE_MAX), nullptr);
  EXPECT_TRUE(heap->check());

  void* fresh = heap->reallocate(nullptr, 64); // allocate
  EXPECT_NE(fresh, nullptr);
  for (void* pointer : {moved, neighbour, fresh}) heap->free(pointer);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_TRUE(heap->check());
}

TEST(HeapTest, SeveralRegions) {
  std::vector<std::uint64_t> first(1024), second(2048); // 8 and 16 KiB, 8-byte aligned
  auto heap = std::make_unique<Heap>();
  heap->add_region(reinterpret_cast<std::uintptr_t>(first.data()), first.size() * 8);
  heap->add_region(reinterpret_cast<std::uintptr_t>(second.data()), second.size() * 8);
  EXPECT_GE(heap->stats().total, (8u + 16u) * 1024 - 32);
  // Larger than the first region: must come from the second.
  void* big = heap->allocate(12 * 1024);
  ASSERT_NE(big, nullptr);
  auto address = reinterpret_cast<std::uintptr_t>(big);
  EXPECT_GE(address, reinterpret_cast<std::uintptr_t>(second.data()));
  void* small = heap->allocate(4 * 1024);
  EXPECT_NE(small, nullptr);
  EXPECT_TRUE(heap->check());
  heap->free(big);
  heap->free(small);
  EXPECT_TRUE(heap->check());
}

// Random allocate/reallocate/free against a model of what each block holds.
TEST(HeapTest, RandomWorkloadKeepsTheHeapConsistent) {
  TestHeap heap(512 * 1024);
  struct Live {
    void* pointer;
    std::size_t size;
    std::uint8_t seed;
  };
  std::vector<Live> live;
  std::mt19937 random(2024);
  for (int step = 0; step < 5000; ++step) {
    auto choice = random() % 10;
    auto size = random() % 3 == 0 ? random() % 20000 : random() % 300;
    auto seed = static_cast<std::uint8_t>(step);
    if (choice < 5 || live.empty()) {
      std::size_t alignment = random() % 8 == 0 ? std::size_t{64} << (random() % 4) : 16;
      if (void* pointer = heap->allocate(size, alignment)) {
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(pointer) % alignment, 0u);
        fill(pointer, size, seed);
        live.push_back({pointer, size, seed});
      }
    } else if (choice < 7) {
      auto& entry = live[random() % live.size()];
      if (void* pointer = heap->reallocate(entry.pointer, size)) {
        ASSERT_TRUE(holds(pointer, std::min(size, entry.size), entry.seed)) << step;
        fill(pointer, size, seed);
        entry = {pointer, size, seed};
      } else {
        ASSERT_TRUE(holds(entry.pointer, entry.size, entry.seed)) << step;
      }
    } else {
      auto index = random() % live.size();
      ASSERT_TRUE(holds(live[index].pointer, live[index].size, live[index].seed)) << step;
      heap->free(live[index].pointer);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
    }
    ASSERT_TRUE(heap->check()) << step;
    ASSERT_LE(heap->stats().in_use, heap->stats().peak);
  }
  for (auto& entry : live) heap->free(entry.pointer);
  EXPECT_EQ(heap->stats().in_use, 0u);
  EXPECT_NE(heap->allocate(heap.largest()), nullptr);
}

TEST(HeapDeathTest, DoubleFreeAndWildPointersStopTheImage) {
  TestHeap heap(64 * 1024);
  void* block = heap->allocate(64);
  heap->free(block);
  EXPECT_DEATH(heap->free(block), "double free");
  int outside = 0;
  EXPECT_DEATH(heap->free(&outside), "did not allocate");
}

} // namespace
} // namespace morgana::pvh
