#pragma once

// How the image ends on pvh. Under QEMU, the isa-debug-exit device turns a
// write of `status` into QEMU's own exit status (status << 1) | 1, so
// 0 -> 1, 1 -> 3, 125 -> 251: status 0..127 survive. Without that device the
// machine resets, which ends QEMU with status 0 under -no-reboot.

namespace morgana::pvh {

inline constexpr int exit_status_abort = 125;
inline constexpr int exit_status_cpu_exception = 126;
inline constexpr int exit_status_out_of_range = 127; // an app status outside 0..127

[[noreturn]] void stop(int status);

} // namespace morgana::pvh
