#include "morgana/platform/pvh/boot_arguments.h"

#include "morgana/core/command_line.h"

namespace morgana::pvh {

BootArguments split_boot_arguments(std::span<char> line) {
  BootArguments split;
  args::CommandLine words(line);
  while (true) {
    auto word = words.next();
    if (!word) {
      split.unterminated = words.unterminated();
      break;
    }
    if (!*word) break;
    auto text = **word;
    // QEMU's microvm appends Linux's virtio-mmio device list when ACPI is off:
    // words for the device code, not boot arguments.
    if (text.starts_with("virtio_mmio.device=")) {
      if (split.mmio_argument_count < BootArguments::max_mmio_arguments)
        split.mmio_arguments[split.mmio_argument_count++] = text;
      continue;
    }
    if (text.starts_with("virtio_mmio.")) continue;
    if (split.argument_count == BootArguments::max_arguments) {
      ++split.ignored_arguments;
      continue;
    }
    split.arguments[split.argument_count++] = text;
  }
  return split;
}

} // namespace morgana::pvh
