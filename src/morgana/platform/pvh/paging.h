#pragma once

// The page tables the image runs on: physical memory mapped at its own
// address, with W^X: text read-only and executable, read-only data and
// everything else not executable, read-only data not writable. The null
// page and the stack's guard page are not mapped, so null dereferences and
// stack overflows fault. Memory outside RAM (device registers) is uncached.

#include <cstdint>
#include <span>
#include <string_view>

#include "morgana/platform/pvh/start_info.h"

namespace morgana::pvh::paging {

// Builds the tables and switches to them. Takes the tables' pages from RAM
// at `free_start` on and returns the first byte after them.
std::uintptr_t init(std::span<const MemoryRegion> memory_map, std::uintptr_t free_start);

// Names what lies at `address` (null page, guard page, text, ...), for fault reports.
std::string_view describe(std::uintptr_t address);

} // namespace morgana::pvh::paging
