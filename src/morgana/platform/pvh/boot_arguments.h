#pragma once

// The kernel command line, split (core/command_line.h: double quotes group)
// into the image's boot arguments and the words QEMU's microvm adds for the
// device code. Runs before the heap exists, so everything has a fixed size.

#include <cstddef>
#include <span>
#include <string_view>

namespace morgana::pvh {

struct BootArguments {
  static constexpr std::size_t max_arguments = 128;
  static constexpr std::size_t max_mmio_arguments = 32;

  std::string_view arguments[max_arguments];
  std::size_t argument_count = 0;
  std::size_t ignored_arguments = 0; // beyond max_arguments
  // virtio_mmio.device=SIZE@BASE:IRQ, Linux's description of each MMIO device.
  std::string_view mmio_arguments[max_mmio_arguments];
  std::size_t mmio_argument_count = 0;
  // A word whose double quote is not closed, as written: the image must stop.
  std::string_view unterminated;
};

// Splits `line` in place (the views point into it).
[[nodiscard]] BootArguments split_boot_arguments(std::span<char> line);

} // namespace morgana::pvh
