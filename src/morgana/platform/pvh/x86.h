#pragma once

// x86-64 instructions the platform needs, as inline functions: port I/O, MSRs,
// CPUID, the time-stamp counter and control registers.

#include <array>
#include <cstdint>
#include <cstring>

namespace morgana::pvh::x86 {

inline void outb(std::uint16_t port, std::uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline void outw(std::uint16_t port, std::uint16_t value) { asm volatile("outw %0, %1" ::"a"(value), "Nd"(port)); }
inline void outl(std::uint16_t port, std::uint32_t value) { asm volatile("outl %0, %1" ::"a"(value), "Nd"(port)); }
inline std::uint8_t inb(std::uint16_t port) {
  std::uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
inline std::uint16_t inw(std::uint16_t port) {
  std::uint16_t value;
  asm volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}
inline std::uint32_t inl(std::uint16_t port) {
  std::uint32_t value;
  asm volatile("inl %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

inline std::uint64_t rdmsr(std::uint32_t msr) {
  std::uint32_t low, high;
  asm volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
  return (std::uint64_t{high} << 32) | low;
}
inline void wrmsr(std::uint32_t msr, std::uint64_t value) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<std::uint32_t>(value)),
               "d"(static_cast<std::uint32_t>(value >> 32)));
}

inline constexpr std::uint32_t msr_apic_base = 0x1b;
inline constexpr std::uint32_t msr_efer = 0xc0000080;
inline constexpr std::uint32_t msr_fs_base = 0xc0000100;

struct CpuidResult {
  std::uint32_t eax, ebx, ecx, edx;
};
inline CpuidResult cpuid(std::uint32_t leaf, std::uint32_t subleaf = 0) {
  CpuidResult r;
  asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
  return r;
}
inline bool has_leaf(std::uint32_t leaf) { return cpuid(leaf & 0x80000000).eax >= leaf; }

// CPUID.1:ECX bit 31: set by hypervisors, which then describe themselves at
// leaf 0x40000000 (and, when they offer several interfaces, 0x40000100, ...).
inline bool under_hypervisor() { return cpuid(1).ecx & (1u << 31); }
inline constexpr std::uint32_t hypervisor_leaf = 0x40000000;
// The 12-byte vendor signature in a hypervisor leaf's EBX, ECX, EDX ("XenVMMXenVMM").
inline std::array<char, 12> hypervisor_signature(const CpuidResult& leaf) {
  std::array<char, 12> signature;
  std::memcpy(signature.data(), &leaf.ebx, 4);
  std::memcpy(signature.data() + 4, &leaf.ecx, 4);
  std::memcpy(signature.data() + 8, &leaf.edx, 4);
  return signature;
}

inline std::uint64_t rdtsc() {
  std::uint32_t low, high;
  asm volatile("rdtsc" : "=a"(low), "=d"(high));
  return (std::uint64_t{high} << 32) | low;
}

inline std::uint64_t read_cr2() {
  std::uint64_t value;
  asm volatile("mov %%cr2, %0" : "=r"(value));
  return value;
}
inline std::uint64_t read_cr3() {
  std::uint64_t value;
  asm volatile("mov %%cr3, %0" : "=r"(value));
  return value;
}
inline void write_cr3(std::uint64_t value) { asm volatile("mov %0, %%cr3" ::"r"(value) : "memory"); }

// Physical memory is mapped at its own address: a physical address is a pointer.
template <class T>
T* physical(std::uint64_t address) {
  return reinterpret_cast<T*>(address); // NOLINT(performance-no-int-to-ptr)
}

inline void pause() { asm volatile("pause"); }

// Halts with interrupts enabled only for the halt itself: `sti` delays
// interrupts by one instruction, so one that is already pending wakes the
// `hlt` instead of being taken before it (no lost wake-up).
inline void halt_until_interrupt() { asm volatile("sti; hlt; cli" ::: "memory"); }

[[noreturn]] inline void halt_forever() {
  while (true) asm volatile("cli; hlt");
}

} // namespace morgana::pvh::x86
