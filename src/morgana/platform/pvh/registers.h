#pragma once

// A block of device registers, in I/O port space or memory-mapped (uncached:
// paging maps everything outside RAM so). Accesses have the width of the
// call, as devices require; offsets are the caller's business.

#include <cstddef>
#include <cstdint>

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh {

class Registers {
public:
  constexpr Registers() = default;
  static constexpr Registers ports(std::uint16_t base) { return {base, true}; }
  static constexpr Registers memory(std::uint64_t base) { return {base, false}; }

  [[nodiscard]] bool valid() const { return m_base != 0; }
  [[nodiscard]] std::uint64_t base() const { return m_base; }
  [[nodiscard]] bool is_ports() const { return m_ports; }
  [[nodiscard]] Registers at(std::size_t offset) const { return {m_base + offset, m_ports}; }

  [[nodiscard]] std::uint8_t read8(std::size_t offset) const {
    return m_ports ? x86::inb(port(offset)) : *pointer<std::uint8_t>(offset);
  }
  [[nodiscard]] std::uint16_t read16(std::size_t offset) const {
    return m_ports ? x86::inw(port(offset)) : *pointer<std::uint16_t>(offset);
  }
  [[nodiscard]] std::uint32_t read32(std::size_t offset) const {
    return m_ports ? x86::inl(port(offset)) : *pointer<std::uint32_t>(offset);
  }
  void write8(std::size_t offset, std::uint8_t value) const {
    if (m_ports) x86::outb(port(offset), value);
    else *pointer<std::uint8_t>(offset) = value;
  }
  void write16(std::size_t offset, std::uint16_t value) const {
    if (m_ports) x86::outw(port(offset), value);
    else *pointer<std::uint16_t>(offset) = value;
  }
  void write32(std::size_t offset, std::uint32_t value) const {
    if (m_ports) x86::outl(port(offset), value);
    else *pointer<std::uint32_t>(offset) = value;
  }

private:
  constexpr Registers(std::uint64_t base, bool ports) : m_base(base), m_ports(ports) {}
  [[nodiscard]] std::uint16_t port(std::size_t offset) const { return static_cast<std::uint16_t>(m_base + offset); }
  template <class T>
  [[nodiscard]] volatile T* pointer(std::size_t offset) const {
    return x86::physical<volatile T>(m_base + offset);
  }

  std::uint64_t m_base = 0;
  bool m_ports = false;
};

} // namespace morgana::pvh
