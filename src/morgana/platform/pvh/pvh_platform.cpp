// The pvh target: Morgana on an x86-64 virtual machine started by a PVH loader
// (QEMU -kernel on microvm and pc, Xen, later Firecracker). pvh_main brings
// the machine up in order, then runs the application through boot::run. The
// same image finds out at boot whether it runs on Xen (CPUID) and then takes
// time, console and shutdown from Xen instead of PIT, CMOS, UART and
// isa-debug-exit, which a Xen PVH guest does not have.

#include <cstdint>

#include "morgana/core/boot.h"
#include "morgana/core/counter.h"
#include "morgana/core/format.h"
#include "morgana/core/log.h"
#include "morgana/platform/interface.h"
#include "morgana/platform/pvh/boot_arguments.h"
#include "morgana/platform/pvh/clock.h"
#include "morgana/platform/pvh/descriptor_tables.h"
#include "morgana/platform/pvh/devices.h"
#include "morgana/platform/pvh/entropy.h"
#include "morgana/platform/pvh/heap.h"
#include "morgana/platform/pvh/image.h"
#include "morgana/platform/pvh/interrupts.h"
#include "morgana/platform/pvh/paging.h"
#include "morgana/platform/pvh/serial.h"
#include "morgana/platform/pvh/start_info.h"
#include "morgana/platform/pvh/stop.h"
#include "morgana/platform/pvh/traps.h"
#include "morgana/platform/pvh/x86.h"
#include "morgana/platform/pvh/xen_console.h"
#include "morgana/platform/pvh/xen_hypervisor.h"

extern "C" {
// The block %fs points at (boot.S loads its address into the FS base): the
// compiler's stack protector reads its canary at %fs:0x28.
alignas(64) std::uint64_t pvh_thread_block[8];
extern void (*const pvh_init_array_start[])();
extern void (*const pvh_init_array_end[])();
}

namespace morgana::pvh {
namespace {

log::Source pvh_log{"pvh"};

// How the event loop's waits end: with them, a benchmark's counters give halts
// (and so interrupts) per request.
Counter waits_skipped{"pvh.waits_skipped", "waits not taken: device input was already pending"};
Counter halts_early{"pvh.halts_early", "halts ended before their deadline (by a device's interrupt)"};
Counter halts_deadline{"pvh.halts_deadline",
                       "halts that lasted until their deadline (a timer or the polling interval)"};

constexpr std::size_t canary_slot = 0x28 / sizeof(std::uint64_t);
// isa-debug-exit's default port, and the one many guides configure (iobase=0xf4).
constexpr std::uint16_t debug_exit_ports[] = {0x501, 0xf4};

struct BootState {
  BootArguments command_line;
  std::uint64_t rsdp_address = 0;
  clock::Calibration calibration;
  bool has_timer = false;
  Error xen_error{Errc::not_found}; // why the image is not using Xen (not_found: no Xen)
  Error xen_console_error{Errc::not_found};
};
constinit BootState g_boot{};

// RAM from the memory map, less everything below `free_start` (low memory,
// the image, the page tables).
void add_heap_regions(std::span<const MemoryRegion> memory_map, std::uintptr_t free_start) {
  for (const auto& region : memory_map) {
    if (!region.is_ram() || region.end() <= free_start) continue;
    auto start = region.address > free_start ? region.address : free_start;
    heap().add_region(static_cast<std::uintptr_t>(start), static_cast<std::size_t>(region.end() - start));
  }
  if (heap().stats().total == 0) platform::abort("no RAM above the image for the heap");
}

// Xen before anything prints: on Xen the console is Xen's, and the UART's
// ports lead nowhere.
void detect_xen() {
  auto found = xen::detect(interrupts::xen_callback_vector);
  if (!found) {
    g_boot.xen_error = found.error();
    return;
  }
  if (auto console = xen::console::init(); !console) g_boot.xen_console_error = console.error();
}

void log_hypervisor() {
  if (xen::present()) {
    auto version = xen::version();
    if (xen::console::ready())
      pvh_log.info("hypervisor: Xen {}.{} (PVH guest; PV console)", version.major, version.minor);
    else
      pvh_log.warn("hypervisor: Xen {}.{} (PVH guest; no PV console: {})", version.major, version.minor,
                   g_boot.xen_console_error);
    return;
  }
  if (!x86::under_hypervisor()) {
    pvh_log.info("hypervisor: none named in CPUID");
    return;
  }
  auto signature = x86::hypervisor_signature(x86::cpuid(x86::hypervisor_leaf));
  for (auto& c : signature)
    if (c != '\0' && (c < ' ' || c > '~')) c = '?';
  std::string_view name(signature.data(), signature.size());
  name = name.substr(0, name.find('\0'));
  if (g_boot.xen_error == Errc::not_found) pvh_log.info("hypervisor: \"{}\" (CPUID 0x40000000)", name);
  else pvh_log.error("hypervisor: Xen found but not usable ({}); using the PC devices", g_boot.xen_error);
}

void run_constructors() {
  for (auto* constructor = pvh_init_array_start; constructor != pvh_init_array_end; ++constructor) (*constructor)();
}

// A fresh canary, its low byte zero so that string functions stop at it.
std::uint64_t make_canary() {
  std::uint64_t value = 0;
  if (!entropy::fill(std::as_writable_bytes(std::span(&value, 1)))) {
    // splitmix64 of the TSC: unpredictable enough to catch accidents, not attacks.
    value = x86::rdtsc() + 0x9e3779b97f4a7c15;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9;
    value = (value ^ (value >> 27)) * 0x94d049bb133111eb;
    value ^= value >> 31;
  }
  return value & ~std::uint64_t{0xff};
}

} // namespace

void stop(int status) {
  if (xen::present()) {
    // Xen has no exit status: 0 is a poweroff, anything else a crash, so that
    // xl (on_crash, `xl list`) sees the failure; the number is on the console.
    auto reason = status == 0 ? xen::ShutdownReason::poweroff : xen::ShutdownReason::crash;
    platform::ConsoleSink console;
    format_to(console, "morgana: Xen shutdown: {} (exit status {})\n",
              reason == xen::ShutdownReason::poweroff ? "poweroff" : "crash", status);
    xen::console::flush();
    xen::shutdown(reason);
    x86::halt_forever();
  }
  // Each port write ends QEMU when the device sits there; otherwise it goes nowhere.
  for (auto port : debug_exit_ports) x86::outb(port, static_cast<std::uint8_t>(status));
  serial::write("morgana: no isa-debug-exit device; resetting the machine\n");
  // A triple fault: no IDT, so the breakpoint cannot be delivered.
  struct [[gnu::packed]] {
    std::uint16_t limit = 0;
    std::uint64_t base = 0;
  } empty_idt;
  asm volatile("lidt %0; int3" ::"m"(empty_idt));
  x86::halt_forever();
}

} // namespace morgana::pvh

namespace morgana::platform {

MemoryStats memory_stats() {
  auto stats = pvh::heap().stats();
  return {stats.total, stats.total - stats.in_use};
}

void console_write(std::string_view text) {
  if (pvh::xen::console::ready()) pvh::xen::console::write(text);
  else pvh::serial::write(text);
}

std::int64_t monotonic_ns() { return pvh::clock::monotonic_ns(); }
std::int64_t wall_ns() { return pvh::clock::wall_ns(); }

Result<void> entropy(std::span<std::byte> buffer) {
  if (!pvh::entropy::available())
    if (auto* rng = pvh::devices::rng()) return rng->fill(buffer);
  return pvh::entropy::fill(buffer);
}

void yield(std::int64_t deadline_ns) {
  auto now = pvh::clock::monotonic_ns();
  if (deadline_ns <= now) return;
  // Checked with interrupts off: a device that interrupts after this wakes the halt at once.
  if (pvh::devices::work_pending()) {
    pvh::waits_skipped.increment();
    return;
  }
  if (pvh::devices::needs_polling() && deadline_ns - now > pvh::devices::poll_interval_ns)
    deadline_ns = now + pvh::devices::poll_interval_ns;
  pvh::interrupts::halt_for(deadline_ns - now);
  if (pvh::clock::monotonic_ns() < deadline_ns) pvh::halts_early.increment();
  else pvh::halts_deadline.increment();
}

std::span<const std::string_view> boot_arguments() {
  return {pvh::g_boot.command_line.arguments, pvh::g_boot.command_line.argument_count};
}

// No host network under a hypervisor: applications use the stack on virtio-net.
bool host_sockets() { return false; }

Result<void> start_devices() {
  using pvh::g_boot;
  auto heap = pvh::heap().stats();
  const auto& calibration = g_boot.calibration;
  pvh::log_hypervisor();
  if (pvh::xen::present())
    pvh::pvh_log.info("TSC {}.{} MHz (from {}), waits: SCHEDOP_poll, heap {} KiB, entropy {}",
                      calibration.tsc_hz / 1'000'000, calibration.tsc_hz / 100'000 % 10, calibration.source,
                      (heap.total - heap.in_use) / 1024, pvh::entropy::source_name());
  else
    pvh::pvh_log.info("TSC {}.{} MHz, APIC timer {}.{} MHz (measured with {}), heap {} KiB, entropy {}",
                      calibration.tsc_hz / 1'000'000, calibration.tsc_hz / 100'000 % 10,
                      calibration.timer_hz / 1'000'000, calibration.timer_hz / 100'000 % 10, calibration.source,
                      (heap.total - heap.in_use) / 1024, pvh::entropy::source_name());
  const auto& command_line = g_boot.command_line;
  pvh::devices::start({command_line.mmio_arguments, command_line.mmio_argument_count}, g_boot.rsdp_address);
  if (!g_boot.has_timer) pvh::pvh_log.warn("no local APIC: waiting spins instead of halting");
  if (!pvh::clock::has_wall_clock())
    pvh::pvh_log.warn("{}: the wall clock starts at the epoch",
                      pvh::xen::present() ? "Xen left its wall clock unset" : "no CMOS RTC");
  if (!pvh::entropy::available() && pvh::devices::rng())
    pvh::pvh_log.info("no RDSEED or RDRAND: entropy from virtio-rng, the stack canary from the TSC");
  else if (!pvh::entropy::available())
    pvh::pvh_log.warn("no RDSEED or RDRAND (use -cpu max): random numbers fail, the stack canary comes from the TSC");
  if (command_line.ignored_arguments)
    pvh::pvh_log.warn("{} boot arguments beyond the first {} ignored", command_line.ignored_arguments,
                      pvh::BootArguments::max_arguments);
  return {};
}

std::size_t net_device_count() { return pvh::devices::net_count(); }

NetDeviceInfo net_device_info(std::size_t device) {
  auto& net = pvh::devices::net(device);
  NetDeviceInfo info{};
  info.mac = net.mac();
  info.mtu = net.mtu();
  info.offloads = net.offloads() & allowed_net_offloads();
  return info;
}

Result<std::size_t> net_read(std::size_t device, std::span<std::byte> buffer, FrameOffload& offload) {
  if (device >= pvh::devices::net_count()) return fail(Errc::not_found, "no such network device");
  return pvh::devices::net(device).read(buffer, offload);
}

Result<void> net_write(std::size_t device, std::span<const std::byte> frame, const FrameOffload& offload) {
  if (device >= pvh::devices::net_count()) return fail(Errc::not_found, "no such network device");
  return pvh::devices::net(device).write(frame, offload);
}

void exit(int status) { pvh::stop(status >= 0 && status <= 127 ? status : pvh::exit_status_out_of_range); }

void abort(std::string_view why) {
  ConsoleSink console;
  format_to(console, "morgana abort: {}\n", why);
  // This frame's saved frame pointer and return address start the chain.
  const auto* frame = static_cast<const std::uint64_t*>(__builtin_frame_address(0));
  pvh::traps::print_backtrace(console, frame[1], frame[0], pvh::traps::FirstAddress::return_address);
  format_to(console, "morgana: exit status {}\n", pvh::exit_status_abort);
  pvh::stop(pvh::exit_status_abort);
}

} // namespace morgana::platform

// Called by boot.S on the boot stack, with paging (4 GiB identity mapped), long
// mode and SSE on, and %fs pointing at pvh_thread_block. Not stack-protected:
// it changes the canary.
extern "C" [[noreturn]] __attribute__((no_stack_protector)) void pvh_main(std::uint64_t start_info_address) {
  using namespace morgana::pvh;
  pvh_thread_block[0] = reinterpret_cast<std::uint64_t>(pvh_thread_block);
  descriptor_tables::init();
  detect_xen();
  if (!xen::present()) serial::init();
  auto start_info = read_start_info(start_info_address);
  g_boot.command_line = split_boot_arguments(start_info.command_line);
  if (!g_boot.command_line.unterminated.empty()) {
    // As boot::run stops for any other bad argument; nothing else has started.
    morgana::platform::ConsoleSink console;
    morgana::format_to(console, "argument '{}': unterminated double quote\nmorgana: stopping: bad boot argument\n",
                       g_boot.command_line.unterminated);
    stop(2);
  }
  g_boot.rsdp_address = start_info.rsdp_address;
  auto free_start = paging::init(start_info.memory_map, image::end());
  add_heap_regions(start_info.memory_map, free_start);
  entropy::init();
  pvh_thread_block[canary_slot] = make_canary();
  run_constructors();
  g_boot.has_timer = interrupts::init();
  g_boot.calibration = clock::calibrate();
  clock::start(g_boot.calibration);
  morgana::platform::exit(morgana::boot::run());
}
