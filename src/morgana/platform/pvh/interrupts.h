#pragma once

// Interrupt controllers: the legacy 8259 PICs are remapped away from the
// exception vectors and masked; the local APIC's timer, in one-shot mode,
// wakes the CPU from `hlt` in platform::yield. Interrupts are enabled only
// while halted there, so handlers never run in the middle of other code.

#include <cstdint>

namespace morgana::pvh::interrupts {

inline constexpr std::uint8_t legacy_pic_base = 0x20; // vectors 0x20..0x2f
inline constexpr std::uint8_t timer_vector = 0x40;
// Every device interrupt (MSI-X messages, I/O APIC pins) arrives here: it only
// wakes the halted CPU, which then polls the devices.
inline constexpr std::uint8_t device_vector = 0x50;
// Xen's event channel callback (on Xen only): it wakes the halted CPU too.
inline constexpr std::uint8_t xen_callback_vector = 0x51;
inline constexpr std::uint8_t spurious_vector = 0xff;

// Masks the PICs and enables the local APIC when the CPU has one. Returns
// whether it does.
bool init();

// The local APIC's ID: the destination of device interrupts. 0 without an APIC.
std::uint8_t local_apic_id();

// For calibration: the APIC timer counts down from its maximum, masked.
void start_free_running_timer();
std::uint32_t timer_count();
void set_timer_frequency(std::uint64_t hz);

// Arms a one-shot timer interrupt `ns` from now (clamped to what the counter
// holds), halts until an interrupt arrives, and disarms the timer. Without an
// APIC, waits with `pause` instead. Returns whether an interrupt woke it.
bool halt_for(std::int64_t ns);

} // namespace morgana::pvh::interrupts
