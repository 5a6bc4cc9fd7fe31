#include "morgana/platform/pvh/heap.h"

#include <cstring>

#include "morgana/platform/interface.h"

namespace morgana::pvh {

// A block: a header, then the payload. prev_size links to the physical
// neighbour below; free blocks also hold their free-list links in what is
// otherwise the payload. Two free blocks are never adjacent.
struct Heap::Block {
  std::size_t prev_size; // 0 for the first block of a region
  std::size_t size_and_flags;
  Block* next_free;
  Block* prev_free;

  static constexpr std::size_t in_use_flag = 1;
  [[nodiscard]] std::size_t size() const { return size_and_flags & ~std::size_t{15}; }
  [[nodiscard]] bool in_use() const { return size_and_flags & in_use_flag; }
  void set(std::size_t size, bool used) { size_and_flags = size | (used ? in_use_flag : 0); }
  Block* next() { return reinterpret_cast<Block*>(reinterpret_cast<char*>(this) + size()); }
  Block* prev() { return prev_size ? reinterpret_cast<Block*>(reinterpret_cast<char*>(this) - prev_size) : nullptr; }
  void* payload() { return reinterpret_cast<char*>(this) + header_size; }

  static constexpr std::size_t header_size = 2 * sizeof(std::size_t);
};

namespace {

constexpr std::size_t granule = 16;
constexpr std::size_t min_block = 32; // a header and two free-list links
constexpr std::size_t max_request = std::size_t{1} << 46;

constexpr std::size_t align_up(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

int highest_bit(std::size_t value) { return 63 - __builtin_clzll(value); }

constinit Heap g_heap;

} // namespace

Heap& heap() { return g_heap; }

// A region's blocks live in the region itself: on pvh its start is a physical
// address (identity mapped), in host tests a buffer's address.
Heap::Block* Heap::block_at(std::uintptr_t address) {
  return reinterpret_cast<Block*>(address); // NOLINT(performance-no-int-to-ptr)
}

void Heap::mapping(std::size_t size, int& first, int& second) {
  if (size < (std::size_t{1} << first_level_shift)) {
    first = 0;
    second = static_cast<int>(size >> alignment_log2);
    return;
  }
  int bit = highest_bit(size);
  second = static_cast<int>((size >> (bit - second_level_log2)) ^ (std::size_t{1} << second_level_log2));
  first = bit - first_level_shift + 1;
}

void Heap::insert(Block* block) {
  int first, second;
  mapping(block->size(), first, second);
  auto*& head = m_free[first][second];
  block->prev_free = nullptr;
  block->next_free = head;
  if (head) head->prev_free = block;
  head = block;
  m_first_level_map |= std::uint64_t{1} << first;
  m_second_level_map[first] |= 1u << second;
}

void Heap::remove(Block* block) {
  int first, second;
  mapping(block->size(), first, second);
  if (block->prev_free) block->prev_free->next_free = block->next_free;
  else m_free[first][second] = block->next_free;
  if (block->next_free) block->next_free->prev_free = block->prev_free;
  if (!m_free[first][second]) {
    m_second_level_map[first] &= ~(1u << second);
    if (!m_second_level_map[first]) m_first_level_map &= ~(std::uint64_t{1} << first);
  }
}

Heap::Block* Heap::find_free(std::size_t size) {
  // Round up to the next list boundary, so that any block in the list found fits.
  std::size_t rounded = size;
  if (size >= (std::size_t{1} << first_level_shift))
    rounded += (std::size_t{1} << (highest_bit(size) - second_level_log2)) - 1;
  int first, second;
  mapping(rounded, first, second);
  if (first < first_level_count) {
    std::uint32_t second_map = m_second_level_map[first] & (~0u << second);
    if (!second_map) {
      std::uint64_t first_map = m_first_level_map & (~std::uint64_t{0} << (first + 1));
      if (first_map) {
        first = __builtin_ctzll(first_map);
        second_map = m_second_level_map[first];
      }
    }
    if (second_map) return m_free[first][__builtin_ctz(second_map)];
  }
  // Nothing in the larger lists: a block in the request's own list may still fit.
  mapping(size, first, second);
  if (first >= first_level_count) return nullptr;
  for (Block* block = m_free[first][second]; block; block = block->next_free)
    if (block->size() >= size) return block;
  return nullptr;
}

// Shrinks a block that is not on a free list to `size`, freeing the rest when it can hold a block.
Heap::Block* Heap::split(Block* block, std::size_t size) {
  std::size_t total = block->size();
  if (total - size < min_block) return block;
  bool used = block->in_use();
  block->set(size, used);
  Block* rest = block->next();
  rest->prev_size = size;
  rest->set(total - size, false);
  rest->next()->prev_size = rest->size();
  rest = merge_with_next(rest);
  insert(rest);
  return block;
}

// Absorbs the physical neighbour above when it is free.
Heap::Block* Heap::merge_with_next(Block* block) {
  Block* next = block->next();
  if (next->in_use()) return block;
  remove(next);
  block->set(block->size() + next->size(), block->in_use());
  block->next()->prev_size = block->size();
  return block;
}

void Heap::release(Block* block) {
  block->set(block->size(), false);
  block = merge_with_next(block);
  if (Block* prev = block->prev(); prev && !prev->in_use()) {
    remove(prev);
    prev->set(prev->size() + block->size(), false);
    prev->next()->prev_size = prev->size();
    block = prev;
  }
  insert(block);
}

void Heap::add_region(std::uintptr_t start, std::size_t size) {
  auto begin = align_up(start, granule);
  auto end = (start + size) & ~(granule - 1);
  if (end <= begin || end - begin < min_block + Block::header_size || m_region_count == max_regions) return;
  auto* first = block_at(begin);
  first->prev_size = 0;
  first->set(end - begin - Block::header_size, false);
  // A zero-size block that is always in use ends the region: merging stops there.
  auto* sentinel = first->next();
  sentinel->prev_size = first->size();
  sentinel->set(0, true);
  insert(first);
  m_regions[m_region_count++] = {begin, end};
  m_stats.total += end - begin;
}

void* Heap::allocate(std::size_t size, std::size_t alignment) {
  if (size > max_request || alignment > max_request || (alignment & (alignment - 1))) {
    ++m_stats.failures;
    return nullptr;
  }
  std::size_t needed = align_up(size + Block::header_size, granule);
  if (needed < min_block) needed = min_block;
  bool over_aligned = alignment > granule;
  // An aligned payload may sit up to alignment + min_block into a block: the
  // space before it becomes a free block of its own.
  Block* block = find_free(over_aligned ? needed + alignment + min_block : needed);
  if (!block) {
    ++m_stats.failures;
    return nullptr;
  }
  remove(block);
  if (over_aligned) {
    auto payload = reinterpret_cast<std::uintptr_t>(block->payload());
    auto aligned = align_up(payload, alignment);
    if (aligned != payload && aligned - payload < min_block) aligned += alignment;
    if (auto gap = aligned - payload) {
      std::size_t total = block->size();
      block->set(gap, false);
      Block* moved = block->next();
      moved->prev_size = gap;
      moved->set(total - gap, false);
      moved->next()->prev_size = moved->size();
      insert(block);
      block = moved;
    }
  }
  block->set(block->size(), true);
  block = split(block, needed);
  m_stats.in_use += block->size();
  if (m_stats.in_use > m_stats.peak) m_stats.peak = m_stats.in_use;
  return block->payload();
}

bool Heap::owns(const void* pointer) const {
  auto address = reinterpret_cast<std::uintptr_t>(pointer);
  for (int i = 0; i < m_region_count; ++i)
    if (address >= m_regions[i].start + Block::header_size && address < m_regions[i].end) return true;
  return false;
}

Heap::Block* Heap::block_of(void* pointer) {
  if (!owns(pointer) || reinterpret_cast<std::uintptr_t>(pointer) % granule)
    platform::abort("heap: free or realloc of a pointer the heap did not allocate");
  auto* block = reinterpret_cast<Block*>(static_cast<char*>(pointer) - Block::header_size);
  if (!block->in_use() || block->size() < min_block || block->next()->prev_size != block->size())
    platform::abort("heap: free or realloc of a block not in use (double free or corrupted heap)");
  return block;
}

void Heap::free(void* pointer) {
  if (!pointer) return;
  Block* block = block_of(pointer);
  m_stats.in_use -= block->size();
  release(block);
}

void* Heap::reallocate(void* pointer, std::size_t size) {
  if (!pointer) return allocate(size);
  if (size > max_request) {
    ++m_stats.failures;
    return nullptr;
  }
  Block* block = block_of(pointer);
  std::size_t needed = align_up(size + Block::header_size, granule);
  if (needed < min_block) needed = min_block;
  std::size_t before = block->size();
  if (needed > before) {
    Block* next = block->next();
    if (!next->in_use() && before + next->size() >= needed) block = merge_with_next(block);
  }
  if (needed <= block->size()) {
    block = split(block, needed);
    m_stats.in_use += block->size();
    m_stats.in_use -= before;
    if (m_stats.in_use > m_stats.peak) m_stats.peak = m_stats.in_use;
    return pointer;
  }
  void* moved = allocate(size);
  if (!moved) return nullptr;
  std::memcpy(moved, pointer, before - Block::header_size);
  free(pointer);
  return moved;
}

std::size_t Heap::usable_size(const void* pointer) const {
  if (!pointer) return 0;
  const auto* block = reinterpret_cast<const Block*>(static_cast<const char*>(pointer) - Block::header_size);
  return block->size() - Block::header_size;
}

bool Heap::check() const {
  std::size_t in_use = 0;
  for (int i = 0; i < m_region_count; ++i) {
    auto* block = block_at(m_regions[i].start);
    std::size_t prev_size = 0;
    bool prev_free = false;
    while (block->size() != 0) {
      auto address = reinterpret_cast<std::uintptr_t>(block);
      if (block->prev_size != prev_size || block->size() < min_block || address + block->size() > m_regions[i].end)
        return false;
      if (!block->in_use() && prev_free) return false;
      if (block->in_use()) in_use += block->size();
      prev_free = !block->in_use();
      prev_size = block->size();
      block = block->next();
    }
    if (block->prev_size != prev_size || !block->in_use()) return false;
  }
  return in_use == m_stats.in_use;
}

} // namespace morgana::pvh
