#pragma once

// The console: a 16550 UART at COM1 (I/O port 0x3f8), polled, 115200 8N1.
// Present on QEMU's pc and microvm machines and on Firecracker.

#include <string_view>

namespace morgana::pvh::serial {

void init();
// Writes text, turning "\n" into "\r\n" for terminals.
void write(std::string_view text);

} // namespace morgana::pvh::serial
