#pragma once

// CPU exceptions: every one stops the image after printing the vector, error
// code, registers, what the faulting address was (for page faults) and a
// backtrace of return addresses. Resolve them with
//   addr2line -f -C -e build/pvh/<app>.elf 0x...

#include <cstdint>

#include "morgana/core/format.h"

namespace morgana::pvh::traps {

// Walks the frame-pointer chain from `frame_pointer` while it stays on a known stack.
void print_backtrace(FormatSink& sink, std::uint64_t first_address, std::uint64_t frame_pointer);

} // namespace morgana::pvh::traps
