#pragma once

// I/O APICs: the interrupt controllers that device lines (virtio-mmio's on
// microvm, PCI INTx on pc) are wired to. Found in ACPI's MADT; without ACPI,
// one at its conventional address serving GSIs from 0.
//
// Lines are routed edge-triggered although the devices drive them as levels:
// the handler only wakes the halted CPU, and the drivers read and clear the
// devices' interrupt status before every halt, so each new event raises the
// line afresh. A level-triggered entry would re-deliver the interrupt after
// every EOI until the status is read, inside the halt's interrupt window.

#include <cstdint>

#include "morgana/core/result.h"

namespace morgana::pvh::ioapic {

// Reads the MADT (acpi::init first). Idempotent.
void init();

// Routes a global system interrupt to `vector` on the local APIC `apic_id`,
// edge-triggered, active high unless the MADT overrides it, and unmasks it.
[[nodiscard]] Result<void> route(std::uint32_t gsi, std::uint8_t vector, std::uint8_t apic_id);

// The GSI an ISA IRQ (a PCI interrupt line on pc) arrives on: the MADT's
// interrupt source override, else the same number.
[[nodiscard]] std::uint32_t gsi_for_isa_irq(std::uint8_t irq);

} // namespace morgana::pvh::ioapic
