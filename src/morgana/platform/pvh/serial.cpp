#include "morgana/platform/pvh/serial.h"

#include <cstdint>

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::serial {
namespace {

constexpr std::uint16_t com1 = 0x3f8;
// Register offsets from the base port (16550 data sheet).
constexpr std::uint16_t data = 0, interrupt_enable = 1, divisor_low = 0, divisor_high = 1, fifo_control = 2,
                        line_control = 3, modem_control = 4, line_status = 5;
constexpr std::uint8_t line_status_transmit_empty = 0x20;
constexpr std::uint8_t line_control_divisor_latch = 0x80;
constexpr std::uint8_t line_control_8n1 = 0x03;
// A missing UART reads as 0xff (transmitter empty), so this bound only
// matters for a stuck one.
constexpr int transmit_wait_limit = 100000;

void put(char c) {
  for (int i = 0; i < transmit_wait_limit; ++i) {
    if (x86::inb(com1 + line_status) & line_status_transmit_empty) break;
    x86::pause();
  }
  x86::outb(com1 + data, static_cast<std::uint8_t>(c));
}

} // namespace

void init() {
  x86::outb(com1 + interrupt_enable, 0x00);
  x86::outb(com1 + line_control, line_control_divisor_latch);
  x86::outb(com1 + divisor_low, 1); // 115200 baud
  x86::outb(com1 + divisor_high, 0);
  x86::outb(com1 + line_control, line_control_8n1);
  x86::outb(com1 + fifo_control, 0xc7);  // enable and clear FIFOs, 14-byte threshold
  x86::outb(com1 + modem_control, 0x03); // DTR and RTS; no OUT2: the UART raises no interrupts
}

void write(std::string_view text) {
  for (char c : text) {
    if (c == '\n') put('\r');
    put(c);
  }
}

} // namespace morgana::pvh::serial
