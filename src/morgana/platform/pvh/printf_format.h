#pragma once

// printf's format language (C17 7.21.6.1) over a FormatSink, for the printf
// family in printf.cpp. Kept apart from the C entry points so that host tests
// compare it with the host's snprintf.
//
// Conversions: d i u o x X c s p % with flags, width, precision and length
// modifiers. Floating point (f e g a) and %n are not supported: formatting
// stops there and reports failure, instead of printing a guess.

#include <cstdarg>
#include <cstddef>

#include "morgana/core/format.h"

namespace morgana::pvh {

// Writes `format` with `args` to `sink`; false at a conversion it does not
// support (after writing what came before it).
[[nodiscard]] bool print_formatted(FormatSink& sink, const char* format, va_list& args);

// vsnprintf: at most size - 1 characters and a NUL (nothing when size is 0).
// Returns the length the whole output has, or -1 with errno EINVAL (an
// unsupported conversion) or EOVERFLOW (longer than INT_MAX).
int format_to_buffer(char* buffer, std::size_t size, const char* format, va_list& args);

// What a printf function returns after `length` characters; -1 with errno
// set when formatting failed (`ok` false) or the length overflows an int.
int printf_result(bool ok, std::size_t length);

} // namespace morgana::pvh
