#include "morgana/platform/pvh/interrupts.h"

#include "morgana/platform/pvh/x86.h"
#include "morgana/platform/pvh/xen_hypervisor.h"

extern "C" {
// Read by the interrupt stubs in traps.S.
extern volatile std::uint32_t* pvh_lapic_eoi;
extern volatile std::uint8_t pvh_interrupt_seen;
}

namespace morgana::pvh::interrupts {
namespace {

// 8259A: ICW1..ICW4, then OCW1 (the mask).
constexpr std::uint16_t pic_master_command = 0x20, pic_master_data = 0x21;
constexpr std::uint16_t pic_slave_command = 0xa0, pic_slave_data = 0xa1;

// Local APIC registers (Intel SDM vol. 3, table 11-1), offsets from its base.
constexpr std::uintptr_t lapic_id = 0x20, lapic_tpr = 0x80, lapic_eoi = 0xb0, lapic_svr = 0xf0, lapic_lvt_timer = 0x320,
                         lapic_timer_initial = 0x380, lapic_timer_current = 0x390, lapic_timer_divide = 0x3e0;
constexpr std::uint32_t lvt_masked = 1u << 16;
constexpr std::uint32_t svr_enable = 1u << 8;
constexpr std::uint32_t timer_divide_by_16 = 0x3;
constexpr std::uint64_t apic_base_enable = 1u << 11;
constexpr std::uint64_t apic_base_address_mask = 0x000ffffffffff000;
constexpr std::uint32_t cpuid_1_edx_apic = 1u << 9;

struct State {
  std::uintptr_t lapic = 0;
  std::uint64_t timer_hz = 0;
  std::int64_t longest_ns = 0; // what the 32-bit counter holds at timer_hz
};
constinit State g_state{};

void write_lapic(std::uintptr_t reg, std::uint32_t value) {
  *x86::physical<volatile std::uint32_t>(g_state.lapic + reg) = value;
}
std::uint32_t read_lapic(std::uintptr_t reg) { return *x86::physical<volatile std::uint32_t>(g_state.lapic + reg); }

void mask_legacy_pics() {
  x86::outb(pic_master_command, 0x11); // ICW1: edge triggered, cascade, ICW4 follows
  x86::outb(pic_slave_command, 0x11);
  x86::outb(pic_master_data, legacy_pic_base);    // ICW2: vector base
  x86::outb(pic_slave_data, legacy_pic_base + 8); // ICW2
  x86::outb(pic_master_data, 0x04);               // ICW3: slave on IRQ2
  x86::outb(pic_slave_data, 0x02);                // ICW3: cascade identity
  x86::outb(pic_master_data, 0x01);               // ICW4: 8086 mode
  x86::outb(pic_slave_data, 0x01);
  x86::outb(pic_master_data, 0xff); // OCW1: mask every line
  x86::outb(pic_slave_data, 0xff);
}

} // namespace

bool init() {
  // A Xen PVH guest has no 8259s (writes to their ports would only cost exits).
  if (!xen::present()) mask_legacy_pics();
  if (!(x86::cpuid(1).edx & cpuid_1_edx_apic)) return false;
  auto base = x86::rdmsr(x86::msr_apic_base);
  x86::wrmsr(x86::msr_apic_base, base | apic_base_enable);
  g_state.lapic = base & apic_base_address_mask;
  write_lapic(lapic_tpr, 0);
  write_lapic(lapic_svr, svr_enable | spurious_vector);
  write_lapic(lapic_lvt_timer, lvt_masked | timer_vector);
  write_lapic(lapic_timer_divide, timer_divide_by_16);
  write_lapic(lapic_timer_initial, 0);
  pvh_lapic_eoi = x86::physical<volatile std::uint32_t>(g_state.lapic + lapic_eoi);
  return true;
}

std::uint8_t local_apic_id() { return g_state.lapic ? static_cast<std::uint8_t>(read_lapic(lapic_id) >> 24) : 0; }

void start_free_running_timer() {
  if (!g_state.lapic) return;
  write_lapic(lapic_lvt_timer, lvt_masked | timer_vector);
  write_lapic(lapic_timer_initial, 0xffffffff);
}

std::uint32_t timer_count() { return g_state.lapic ? read_lapic(lapic_timer_current) : 0; }

void set_timer_frequency(std::uint64_t hz) {
  g_state.timer_hz = hz;
  g_state.longest_ns = hz ? static_cast<std::int64_t>(std::uint64_t{0xffffffff} * 1'000'000'000 / hz) : 0;
  if (g_state.lapic) write_lapic(lapic_timer_initial, 0);
}

bool halt_for(std::int64_t ns) {
  if (ns <= 0) return false;
  if (!g_state.lapic || !g_state.timer_hz) {
    x86::pause();
    return false;
  }
  if (ns > g_state.longest_ns) ns = g_state.longest_ns;
  auto ticks = static_cast<std::uint64_t>(ns) * g_state.timer_hz / 1'000'000'000u;
  auto count = static_cast<std::uint32_t>(ticks == 0 ? 1 : ticks);
  pvh_interrupt_seen = 0;
  write_lapic(lapic_lvt_timer, timer_vector); // one-shot, unmasked
  write_lapic(lapic_timer_initial, count);
  x86::halt_until_interrupt();
  write_lapic(lapic_timer_initial, 0);
  write_lapic(lapic_lvt_timer, lvt_masked | timer_vector);
  return pvh_interrupt_seen != 0;
}

} // namespace morgana::pvh::interrupts
