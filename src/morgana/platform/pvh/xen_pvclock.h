#pragma once

// Xen's paravirtual clock (xen/include/public/xen.h, struct vcpu_time_info):
// Xen publishes, per vCPU, a TSC reading and the system time (ns since Xen
// booted) at that reading, with the factor that turns TSC ticks into ns. The
// arithmetic lives here, apart from the shared memory it reads, so that host
// tests check it.

#include <cstdint>

namespace morgana::pvh::xen {

// One consistent copy of a vcpu_time_info (taken under its version counter).
struct PvclockSnapshot {
  std::uint64_t tsc_timestamp = 0;
  std::uint64_t system_time_ns = 0;
  std::uint32_t tsc_to_system_mul = 0; // ns per tick as a 32.32 fraction, after the shift
  std::int8_t tsc_shift = 0;           // applied to the tick count first: left when positive
};

// Nanoseconds for `ticks` TSC ticks: ((ticks << shift) * mul) >> 32, with a
// negative shift shifting right (Xen's scale_delta).
std::uint64_t scale_ticks(std::uint64_t ticks, std::uint32_t mul, std::int8_t shift);

// Xen's system time at TSC reading `tsc`. A reading older than the snapshot
// (another CPU's TSC, a stale read) counts as the snapshot's own time, so the
// clock never runs backwards through underflow.
std::uint64_t system_time_at(const PvclockSnapshot& snapshot, std::uint64_t tsc);

// The TSC frequency the factor stands for, in Hz; 0 when the factor is 0.
std::uint64_t tsc_hz(std::uint32_t mul, std::int8_t shift);

// Wall time in ns since the epoch: shared_info's wc_sec (with its high word
// wc_sec_hi) and wc_nsec give the wall time at system time 0.
std::int64_t wall_clock_ns(std::uint32_t wc_sec, std::uint32_t wc_sec_hi, std::uint32_t wc_nsec,
                           std::uint64_t system_time_ns);

} // namespace morgana::pvh::xen
