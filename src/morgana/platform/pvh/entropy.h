#pragma once

// Hardware entropy: RDSEED (the conditioned entropy source) when the CPU has
// it, RDRAND otherwise. QEMU's TCG offers both with -cpu max; its default
// CPU models offer neither, and then entropy fails with Errc::no_entropy.

#include <cstddef>
#include <span>
#include <string_view>

#include "morgana/core/result.h"

namespace morgana::pvh::entropy {

// Checks CPUID once at boot.
void init();
[[nodiscard]] bool available();
[[nodiscard]] std::string_view source_name();
[[nodiscard]] Result<void> fill(std::span<std::byte> buffer);

} // namespace morgana::pvh::entropy
