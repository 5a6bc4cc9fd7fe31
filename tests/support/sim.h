#pragma once

// The simulated platform that unit tests and fuzz targets link instead of a
// real one: a virtual monotonic clock that jumps to the next deadline when
// nothing else can happen, in-memory network devices, deterministic entropy,
// and a captured console.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/net_offload.h"

namespace morgana::sim {

using Frame = std::vector<std::byte>;

// Adds a network device with the given MAC and IP MTU; returns its index.
std::size_t add_device(const std::uint8_t (&mac)[6], std::uint16_t mtu = 1500);
// Queues a frame for the stack to receive from `device`.
void inject(std::size_t device, Bytes frame);
// Queues a frame with what the device says about it (checksum_valid, a
// coalesced segment_size...).
void inject(std::size_t device, Bytes frame, const FrameOffload& offload);
// Frames the stack has sent on `device` since the last call.
std::vector<Frame> take_sent(std::size_t device);
// The offload of each frame sent on `device` since the last call, in the
// order take_sent returns the frames; call it before take_sent, which clears
// them with the frames.
std::vector<FrameOffload> take_sent_offloads(std::size_t device);
// What the device offers the stack (none unless set; the boot argument
// --offload does not apply here).
void set_offloads(std::size_t device, NetOffloads offloads);
// Removes every device, queued frame, console text and boot argument; sets the
// clock back to its start and entropy to available.
void reset();

// Advances virtual time (as if the machine slept).
void advance(std::int64_t ns);
std::int64_t now_ns();

void set_entropy_available(bool available);
// What platform::memory_stats() reports (the tests' real allocations do not
// change it); reset() restores a roomy 1 GiB, all free.
void set_memory(std::size_t total, std::size_t free);
void set_boot_arguments(std::vector<std::string> arguments);
const std::string& console_output();
void clear_console();

} // namespace morgana::sim
