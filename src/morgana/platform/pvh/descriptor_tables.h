#pragma once

// The GDT (64-bit code and data segments, a TSS) and the IDT. CPU exceptions
// run on their own stacks through the TSS's interrupt stack table, so a
// stack overflow (a fault on the guard page) can still be reported; a double
// fault has a stack of its own again.

#include <cstddef>
#include <cstdint>

namespace morgana::pvh::descriptor_tables {

void init();

// The stacks exception handlers run on, for the backtrace's bounds checks.
struct StackBounds {
  std::uintptr_t bottom, top;
  [[nodiscard]] bool contains(std::uintptr_t address, std::size_t size) const {
    return address >= bottom && address <= top && top - address >= size;
  }
};
StackBounds exception_stack();
StackBounds double_fault_stack();

} // namespace morgana::pvh::descriptor_tables
