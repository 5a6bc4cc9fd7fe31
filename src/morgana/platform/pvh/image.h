#pragma once

// The image's layout, from symbols that linker.ld defines.

#include <cstdint>

extern "C" {
extern char pvh_image_start[], pvh_text_end[], pvh_rodata_end[], pvh_stack_guard[], pvh_stack_bottom[], pvh_stack_top[],
    pvh_symbols_start[], pvh_symbols_end[], pvh_image_end[];
}

namespace morgana::pvh::image {

inline std::uintptr_t address(const char* symbol) { return reinterpret_cast<std::uintptr_t>(symbol); }

inline std::uintptr_t start() { return address(pvh_image_start); }
inline std::uintptr_t text_end() { return address(pvh_text_end); }
inline std::uintptr_t rodata_end() { return address(pvh_rodata_end); }
inline std::uintptr_t stack_guard() { return address(pvh_stack_guard); }
inline std::uintptr_t stack_bottom() { return address(pvh_stack_bottom); }
inline std::uintptr_t stack_top() { return address(pvh_stack_top); }
inline std::uintptr_t symbols_start() { return address(pvh_symbols_start); }
inline std::uintptr_t symbols_end() { return address(pvh_symbols_end); }
inline std::uintptr_t end() { return address(pvh_image_end); }

} // namespace morgana::pvh::image
