#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "morgana/net/network.h"
#include "morgana/platform/interface.h"
#include "sim.h"

namespace morgana::sim {
namespace {

constexpr std::int64_t start_ns = 1'000'000'000;
constexpr std::size_t default_memory = std::size_t{1} << 30;

struct Device {
  platform::NetDeviceInfo info;
  std::deque<std::pair<Frame, FrameOffload>> received;
  std::vector<Frame> sent;
  std::vector<FrameOffload> sent_offloads;
};

struct State {
  std::int64_t now = start_ns;
  std::vector<Device> devices;
  bool entropy = true;
  platform::MemoryStats memory{default_memory, default_memory};
  std::uint64_t entropy_state = 0x9e3779b97f4a7c15;
  std::string console;
  std::vector<std::string> argument_storage;
  std::vector<std::string_view> arguments;
};

State& state() {
  static State s;
  return s;
}

} // namespace

std::size_t add_device(const std::uint8_t (&mac)[6], std::uint16_t mtu) {
  Device device{};
  device.info.mac = MacAddress::from(mac);
  device.info.mtu = mtu;
  state().devices.push_back(std::move(device));
  return state().devices.size() - 1;
}

void inject(std::size_t device, Bytes frame) { inject(device, frame, {}); }

void inject(std::size_t device, Bytes frame, const FrameOffload& offload) {
  state().devices.at(device).received.emplace_back(Frame(frame.begin(), frame.end()), offload);
}

std::vector<Frame> take_sent(std::size_t device) {
  state().devices.at(device).sent_offloads.clear();
  return std::exchange(state().devices.at(device).sent, {});
}

std::vector<FrameOffload> take_sent_offloads(std::size_t device) { return state().devices.at(device).sent_offloads; }

void set_offloads(std::size_t device, NetOffloads offloads) { state().devices.at(device).info.offloads = offloads; }

void reset() { state() = State{}; }

void advance(std::int64_t ns) { state().now += ns; }
std::int64_t now_ns() { return state().now; }

void set_entropy_available(bool available) { state().entropy = available; }

void set_memory(std::size_t total, std::size_t free) { state().memory = {total, free}; }

void set_boot_arguments(std::vector<std::string> arguments) {
  state().argument_storage = std::move(arguments);
  state().arguments.assign(state().argument_storage.begin(), state().argument_storage.end());
}

const std::string& console_output() { return state().console; }
void clear_console() { state().console.clear(); }

} // namespace morgana::sim

namespace morgana::platform {

using sim::state;

void console_write(std::string_view text) {
  state().console.append(text);
  if (std::getenv("MORGANA_SIM_CONSOLE")) std::fwrite(text.data(), 1, text.size(), stderr);
}

std::int64_t monotonic_ns() { return state().now; }
std::int64_t wall_ns() { return 1'700'000'000'000'000'000 + state().now; }

Result<void> entropy(std::span<std::byte> buffer) {
  if (!state().entropy) return fail(Errc::no_entropy, "simulated platform without entropy");
  for (auto& b : buffer) {
    // splitmix64: deterministic, so failing tests replay.
    auto z = (state().entropy_state += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    b = std::byte(z >> 56);
  }
  return {};
}

void yield(std::int64_t deadline_ns) {
  for (auto& device : state().devices)
    if (!device.received.empty()) return;
  if (deadline_ns == INT64_MAX) abort("sim: every coroutine waits forever and no device has input");
  if (deadline_ns > state().now) state().now = deadline_ns;
}

MemoryStats memory_stats() { return state().memory; }

std::span<const std::string_view> boot_arguments() { return state().arguments; }

Result<void> start_devices() { return {}; }

bool host_sockets() { return false; }

std::size_t net_device_count() { return state().devices.size(); }
NetDeviceInfo net_device_info(std::size_t device) { return state().devices.at(device).info; }

Result<std::size_t> net_read(std::size_t device, std::span<std::byte> buffer, FrameOffload& offload) {
  offload = {};
  auto& queue = state().devices.at(device).received;
  if (queue.empty()) return 0;
  auto [frame, metadata] = std::move(queue.front());
  queue.pop_front();
  if (frame.size() > buffer.size()) return fail(Errc::no_space, "frame larger than the receive buffer");
  std::memcpy(buffer.data(), frame.data(), frame.size());
  offload = metadata;
  return frame.size();
}

Result<void> net_write(std::size_t device, std::span<const std::byte> frame, const FrameOffload& offload) {
  auto& sim_device = state().devices.at(device);
  const auto& offered = sim_device.info.offloads;
  // The interface's contract: ask only for what the device offers.
  if ((offload.checksum_partial && !offered.tx_checksum) || (offload.segment_size && !offered.tso4))
    abort("sim: a frame asks for an offload the device does not offer");
  sim_device.sent.emplace_back(frame.begin(), frame.end());
  sim_device.sent_offloads.push_back(offload);
  return {};
}

void exit(int status) { std::exit(status); }

void abort(std::string_view why) {
  std::fprintf(stderr, "morgana abort: %.*s\n", static_cast<int>(why.size()), why.data());
  std::abort();
}

} // namespace morgana::platform
