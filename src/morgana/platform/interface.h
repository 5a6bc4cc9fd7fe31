#pragma once

// The only door to the machine. Every target (hosted, pvh, the unit-test
// simulator) implements these functions; everything above uses nothing else.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/mac_address.h"
#include "morgana/core/net_offload.h"
#include "morgana/core/result.h"

namespace morgana::platform {

void console_write(std::string_view text);

// The console as a format sink. Writes straight through without allocating:
// CPU exception reports use it when the heap may be broken.
class ConsoleSink final : public FormatSink {
public:
  void write(std::string_view text) override { console_write(text); }
};

// Nanoseconds since an arbitrary start; never goes backwards.
std::int64_t monotonic_ns();
// Nanoseconds since the Unix epoch; may jump.
std::int64_t wall_ns();

// Fills the buffer from a hardware or kernel entropy source; fails with
// Errc::no_entropy when the platform has none.
[[nodiscard]] Result<void> entropy(std::span<std::byte> buffer);

// Sleeps until the monotonic clock reaches deadline_ns or a device may have work.
// Returns early on device activity; callers re-check their state.
void yield(std::int64_t deadline_ns);

// Arguments given at boot (argv on hosted, the PVH command line on pvh), without
// the program name.
std::span<const std::string_view> boot_arguments();

struct MemoryStats {
  std::size_t total; // bytes the allocator manages (or the process may use)
  std::size_t free;  // of those, bytes not allocated; not necessarily in one piece
};
// The heap behind operator new (core/memory.h passes it on to the layers).
MemoryStats memory_stats();

// Called once after boot arguments are parsed: opens devices chosen by them.
// Errc::invalid_argument when an argument's value is refused.
[[nodiscard]] Result<void> start_devices();

struct NetDeviceInfo {
  MacAddress mac;
  std::uint16_t mtu; // IP MTU, without the Ethernet header
  // What the device does for the stack: those of its features that
  // allowed_net_offloads() permits, and nothing else.
  NetOffloads offloads;
};

std::size_t net_device_count();
NetDeviceInfo net_device_info(std::size_t device);
// Reads one frame into buffer and what the device says about it into
// `offload`; 0 when none is waiting. Frames longer than the buffer are dropped
// and reported as Errc::no_space. With gro4 a frame may be max_offload_frame
// bytes long; otherwise at most the MTU plus the Ethernet header.
[[nodiscard]] Result<std::size_t> net_read(std::size_t device, std::span<std::byte> buffer, FrameOffload& offload);
// Writes one frame; `offload` may ask only for what net_device_info's
// offloads include. Errc::would_block when the device has no room now.
[[nodiscard]] Result<void> net_write(std::size_t device, std::span<const std::byte> frame,
                                     const FrameOffload& offload = {});

// Whether the image was asked to use the host's own sockets instead of a
// network device (hosted --net=socket); always false on a hypervisor.
[[nodiscard]] bool host_sockets();

[[noreturn]] void exit(int status);
[[noreturn]] void abort(std::string_view why);

} // namespace morgana::platform
