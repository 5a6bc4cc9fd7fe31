#pragma once

// Time on pvh: the monotonic clock counts TSC ticks since boot, converted at
// a frequency measured against the 8254 PIT (1.193182 MHz); the wall clock is
// the CMOS RTC's reading at boot plus monotonic time since. On Xen (no PIT, no
// CMOS) both come from Xen's pvclock and wall clock in shared_info instead.

#include <cstdint>
#include <string_view>

namespace morgana::pvh::clock {

struct Calibration {
  std::uint64_t tsc_hz = 0;
  std::uint64_t timer_hz = 0; // the local APIC timer's, 0 when unknown
  std::string_view source;    // what the frequencies were measured with
};

// Measures the TSC and the APIC timer against the PIT (about 20 ms); without a
// PIT, takes CPUID's frequency leaves; stops the image when neither exists.
// On Xen, measures the APIC timer against pvclock (20 ms).
Calibration calibrate();

// Starts both clocks. Before this, monotonic_ns() and wall_ns() return 0.
void start(const Calibration& calibration);

[[nodiscard]] std::int64_t monotonic_ns();
[[nodiscard]] std::int64_t wall_ns();
// Whether the wall clock came from an RTC (otherwise it counts from the epoch).
[[nodiscard]] bool has_wall_clock();

} // namespace morgana::pvh::clock
