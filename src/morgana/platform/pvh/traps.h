#pragma once

// CPU exceptions: every one stops the image after printing the vector, error
// code, registers, what the faulting address was (for page faults) and a
// backtrace: each frame as address, function and offset (symbols.h), then
// the addr2line command that resolves the addresses to source lines.

#include <cstdint>

#include "morgana/core/format.h"

namespace morgana::pvh::traps {

// What the first address of a backtrace is: the instruction that faulted, or
// where a call returns to (abort's caller), which may be the first byte of the
// next function when the call was the last instruction (a noreturn call).
enum class FirstAddress { faulting_instruction, return_address };

// Walks the frame-pointer chain from `frame_pointer` while it stays on a known stack.
void print_backtrace(FormatSink& sink, std::uint64_t first_address, std::uint64_t frame_pointer,
                     FirstAddress first = FirstAddress::faulting_instruction);

} // namespace morgana::pvh::traps
