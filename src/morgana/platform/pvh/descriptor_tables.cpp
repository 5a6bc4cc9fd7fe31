#include "morgana/platform/pvh/descriptor_tables.h"

#include "morgana/platform/pvh/interrupts.h"

extern "C" {
extern const char pvh_trap_stubs[];
void pvh_interrupt_lapic();
void pvh_interrupt_ignore();
void pvh_interrupt_xen();
}

namespace morgana::pvh::descriptor_tables {
namespace {

constexpr std::uint16_t kernel_code = 0x08, kernel_data = 0x10, task_state = 0x18;
constexpr std::size_t trap_stub_size = 16; // traps.S aligns each stub to 16 bytes
constexpr std::size_t exception_count = 32;
constexpr std::uint8_t double_fault_vector = 8;
constexpr std::uint8_t ist_exceptions = 1, ist_double_fault = 2;
constexpr std::uint8_t gate_interrupt_present = 0x8e; // present, ring 0, 64-bit interrupt gate (clears IF)

// Intel SDM vol. 3, 8.7: the 64-bit task-state segment.
struct [[gnu::packed]] TaskState {
  std::uint32_t reserved0;
  std::uint64_t rsp[3];
  std::uint64_t reserved1;
  std::uint64_t ist[7];
  std::uint64_t reserved2;
  std::uint16_t reserved3;
  std::uint16_t io_map_base;
};
static_assert(sizeof(TaskState) == 104);

// Intel SDM vol. 3, 6.14.1: a 64-bit IDT gate descriptor.
struct Gate {
  std::uint16_t offset_low;
  std::uint16_t selector;
  std::uint8_t ist;
  std::uint8_t type_attributes;
  std::uint16_t offset_middle;
  std::uint32_t offset_high;
  std::uint32_t reserved;
};
static_assert(sizeof(Gate) == 16);

struct [[gnu::packed]] TablePointer {
  std::uint16_t limit;
  std::uint64_t base;
};

constexpr std::size_t exception_stack_size = 16384;
alignas(16) std::byte g_exception_stack[exception_stack_size];
alignas(16) std::byte g_double_fault_stack[exception_stack_size];

TaskState g_task_state;
alignas(16) std::uint64_t g_gdt[5];
alignas(16) Gate g_idt[256];

Gate make_gate(std::uintptr_t handler, std::uint8_t ist) {
  return {static_cast<std::uint16_t>(handler),
          kernel_code,
          ist,
          gate_interrupt_present,
          static_cast<std::uint16_t>(handler >> 16),
          static_cast<std::uint32_t>(handler >> 32),
          0};
}

std::uintptr_t top_of(std::byte (&stack)[exception_stack_size]) {
  return reinterpret_cast<std::uintptr_t>(stack + exception_stack_size);
}

void build_gdt() {
  g_gdt[0] = 0;
  g_gdt[1] = 0x00af9a000000ffff; // 64-bit code, ring 0
  g_gdt[2] = 0x00cf92000000ffff; // data, ring 0
  auto base = reinterpret_cast<std::uint64_t>(&g_task_state);
  std::uint64_t limit = sizeof(TaskState) - 1;
  // Intel SDM vol. 3, 8.2.3: a 16-byte available 64-bit TSS descriptor (type 9, present).
  g_gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (std::uint64_t{0x89} << 40) | ((limit >> 16 & 0xf) << 48) |
             ((base >> 24 & 0xff) << 56);
  g_gdt[4] = base >> 32;
}

void build_idt() {
  auto stubs = reinterpret_cast<std::uintptr_t>(pvh_trap_stubs);
  for (std::size_t vector = 0; vector < exception_count; ++vector)
    g_idt[vector] =
        make_gate(stubs + vector * trap_stub_size, vector == double_fault_vector ? ist_double_fault : ist_exceptions);
  for (std::size_t vector = exception_count; vector < 256; ++vector) {
    bool legacy = vector >= interrupts::legacy_pic_base && vector < interrupts::legacy_pic_base + 16u;
    bool ignore = legacy || vector == interrupts::spurious_vector;
    auto handler = ignore                                      ? &pvh_interrupt_ignore
                   : vector == interrupts::xen_callback_vector ? &pvh_interrupt_xen
                                                               : &pvh_interrupt_lapic;
    g_idt[vector] = make_gate(reinterpret_cast<std::uintptr_t>(handler), 0);
  }
}

void load() {
  TablePointer gdt{sizeof g_gdt - 1, reinterpret_cast<std::uint64_t>(g_gdt)};
  TablePointer idt{sizeof g_idt - 1, reinterpret_cast<std::uint64_t>(g_idt)};
  // The far return reloads CS; %fs and %gs keep their bases (the FS base holds
  // the stack protector's canary block).
  asm volatile("lgdt %0\n"
               "pushq %1\n"
               "leaq 1f(%%rip), %%rax\n"
               "pushq %%rax\n"
               "lretq\n"
               "1:\n"
               "movw %w2, %%ds\n"
               "movw %w2, %%es\n"
               "movw %w2, %%ss\n"
               "ltr %w3\n"
               "lidt %4\n"
               :
               : "m"(gdt), "i"(kernel_code), "r"(kernel_data), "r"(task_state), "m"(idt)
               : "rax", "memory");
}

} // namespace

void init() {
  g_task_state = {};
  g_task_state.ist[ist_exceptions - 1] = top_of(g_exception_stack);
  g_task_state.ist[ist_double_fault - 1] = top_of(g_double_fault_stack);
  g_task_state.io_map_base = sizeof(TaskState);
  build_gdt();
  build_idt();
  load();
}

StackBounds exception_stack() { return {top_of(g_exception_stack) - exception_stack_size, top_of(g_exception_stack)}; }
StackBounds double_fault_stack() {
  return {top_of(g_double_fault_stack) - exception_stack_size, top_of(g_double_fault_stack)};
}

} // namespace morgana::pvh::descriptor_tables
