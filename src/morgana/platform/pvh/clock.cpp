#include "morgana/platform/pvh/clock.h"

#include <optional>

#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/interrupts.h"
#include "morgana/platform/pvh/rtc.h"
#include "morgana/platform/pvh/x86.h"
#include "morgana/platform/pvh/xen_hypervisor.h"

namespace morgana::pvh::clock {
namespace {

constexpr std::uint64_t pit_hz = 1193182;
constexpr std::uint16_t pit_channel_0 = 0x40, pit_command = 0x43;
constexpr std::uint8_t pit_channel_0_mode_0 = 0x30; // lobyte/hibyte access, interrupt on terminal count, binary
constexpr std::uint8_t pit_latch_channel_0 = 0x00;
constexpr std::uint16_t calibration_ticks = 23864; // 20 ms of PIT
// Polls before deciding that the PIT is not counting (absent or stuck).
constexpr int pit_start_attempts = 100000;
// Each read traps to Xen (under nesting, a long while): a window as long as the PIT's keeps the error small.
constexpr std::uint64_t xen_calibration_ns = 20'000'000;

struct State {
  bool xen = false; // time from Xen's pvclock rather than the calibrated TSC
  std::uint64_t xen_system_time_at_start = 0;
  std::uint64_t tsc_at_start = 0;
  std::uint64_t ns_per_tick_q32 = 0; // nanoseconds per TSC tick, 32.32 fixed point
  std::int64_t wall_ns_at_start = 0;
  bool has_wall_clock = false;
};
constinit State g_state{};

std::uint16_t read_pit() {
  x86::outb(pit_command, pit_latch_channel_0);
  std::uint8_t low = x86::inb(pit_channel_0);
  std::uint8_t high = x86::inb(pit_channel_0);
  return static_cast<std::uint16_t>(low | (high << 8));
}

std::optional<Calibration> calibrate_with_pit() {
  x86::outb(pit_command, pit_channel_0_mode_0);
  x86::outb(pit_channel_0, 0xff);
  x86::outb(pit_channel_0, 0xff);
  interrupts::start_free_running_timer();

  // Start on a tick edge, so that both ends of the window are read alike.
  std::uint16_t first = read_pit(), start = first;
  std::uint64_t tsc_start = 0;
  std::uint32_t timer_start = 0;
  for (int i = 0; i < pit_start_attempts && start == first; ++i) {
    start = read_pit();
    tsc_start = x86::rdtsc();
    timer_start = interrupts::timer_count();
  }
  if (start == first) return std::nullopt;

  std::uint16_t now = start;
  std::uint64_t tsc_end = tsc_start;
  std::uint32_t timer_end = timer_start;
  while (static_cast<std::uint16_t>(start - now) < calibration_ticks) {
    now = read_pit();
    tsc_end = x86::rdtsc();
    timer_end = interrupts::timer_count();
  }
  std::uint64_t elapsed = static_cast<std::uint16_t>(start - now);
  return Calibration{(tsc_end - tsc_start) * pit_hz / elapsed,
                     std::uint64_t{timer_start - timer_end} * pit_hz / elapsed, "PIT"};
}

// CPUID leaf 0x15 (crystal clock and TSC ratio) and the hypervisor timing
// leaf 0x40000010 (TSC and APIC bus in kHz, as QEMU and VMware give it).
std::optional<Calibration> calibrate_with_cpuid() {
  if (x86::has_leaf(0x15)) {
    auto leaf = x86::cpuid(0x15);
    if (leaf.eax && leaf.ebx && leaf.ecx)
      return Calibration{std::uint64_t{leaf.ecx} * leaf.ebx / leaf.eax, 0, "CPUID leaf 0x15"};
  }
  constexpr std::uint32_t hypervisor_present = 1u << 31;
  if ((x86::cpuid(1).ecx & hypervisor_present) && x86::cpuid(0x40000000).eax >= 0x40000010) {
    auto leaf = x86::cpuid(0x40000010);
    if (leaf.eax)
      return Calibration{std::uint64_t{leaf.eax} * 1000, std::uint64_t{leaf.ebx} * 1000 / 16, "CPUID leaf 0x40000010"};
  }
  return std::nullopt;
}

// On Xen: the TSC's rate is what pvclock's factor says; the (emulated) APIC
// timer is measured against pvclock's system time.
Calibration calibrate_with_xen() {
  auto snapshot = xen::pvclock();
  interrupts::start_free_running_timer();
  auto start = xen::system_time_ns();
  auto timer_start = interrupts::timer_count();
  auto now = start;
  auto timer_end = timer_start;
  while (now - start < xen_calibration_ns) {
    now = xen::system_time_ns();
    timer_end = interrupts::timer_count();
  }
  return Calibration{xen::tsc_hz(snapshot.tsc_to_system_mul, snapshot.tsc_shift),
                     std::uint64_t{timer_start - timer_end} * 1'000'000'000 / (now - start), "Xen pvclock"};
}

} // namespace

Calibration calibrate() {
  if (xen::present()) return calibrate_with_xen();
  if (auto measured = calibrate_with_pit()) return *measured;
  if (auto reported = calibrate_with_cpuid()) return *reported;
  platform::abort("no PIT and no CPUID frequency leaf: cannot measure the TSC");
}

void start(const Calibration& calibration) {
  interrupts::set_timer_frequency(calibration.timer_hz);
  if (xen::present()) {
    // No CMOS under Xen PVH: the wall clock is Xen's.
    g_state.xen = true;
    g_state.xen_system_time_at_start = xen::system_time_ns();
    auto wall = xen::wall_ns();
    g_state.wall_ns_at_start = wall.value_or(0);
    g_state.has_wall_clock = wall.has_value();
    return;
  }
  auto seconds = rtc::read_epoch_seconds();
  g_state.ns_per_tick_q32 = (std::uint64_t{1'000'000'000} << 32) / calibration.tsc_hz;
  g_state.wall_ns_at_start = seconds ? *seconds * 1'000'000'000 : 0;
  g_state.has_wall_clock = seconds.has_value();
  g_state.tsc_at_start = x86::rdtsc();
}

std::int64_t monotonic_ns() {
  if (g_state.xen) return static_cast<std::int64_t>(xen::system_time_ns() - g_state.xen_system_time_at_start);
  if (!g_state.ns_per_tick_q32) return 0;
  auto ticks = x86::rdtsc() - g_state.tsc_at_start;
  return static_cast<std::int64_t>((static_cast<unsigned __int128>(ticks) * g_state.ns_per_tick_q32) >> 32);
}

std::int64_t wall_ns() { return g_state.wall_ns_at_start + monotonic_ns(); }

bool has_wall_clock() { return g_state.has_wall_clock; }

} // namespace morgana::pvh::clock
