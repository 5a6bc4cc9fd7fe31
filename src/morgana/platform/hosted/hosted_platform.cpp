// The hosted target: Morgana as an ordinary Linux process. Network devices are
// tap interfaces (--net=tap0), yield is ppoll, entropy is getrandom.

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "morgana/core/args.h"
#include "morgana/core/boot.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/mac_address.h"
#include "morgana/core/virtio_net_header.h"
#include "morgana/platform/hosted/fd_wait.h"
#include "morgana/platform/interface.h"

namespace morgana::platform {
namespace {

args::Option<std::string_view> net_arg{
    "net", "network: a tap interface name (e.g. tap0), 'socket' for the host's own sockets, or empty for none", ""};
args::Option<std::optional<MacAddress>> mac_arg{
    "mac", "MAC address of the device (random, locally administered, when absent)", std::nullopt};
args::Option<std::uint16_t> mtu_arg{"mtu", "IP MTU of the device", 1500};

log::Source hosted_log{"hosted"};

struct TapDevice {
  int fd;
  NetDeviceInfo info;
  // Opened with IFF_VNET_HDR: every frame read or written starts with a
  // virtio_net_hdr (VirtioNetHeader), which carries the offload (only when an
  // offload is allowed: else the tap is opened as it always was).
  bool vnet_header = false;
};

std::vector<TapDevice> g_devices;

// Host file descriptors that coroutines wait on (wait_fd), polled with the taps.
struct FdWatch {
  int fd;
  short events;
  WaitQueue* ready;
};
std::vector<FdWatch> g_watches;
std::vector<std::string_view> g_arguments;
volatile std::sig_atomic_t g_stop_signal = 0;
volatile std::sig_atomic_t g_stop_signals = 0; // how many arrived
// SIGINT and SIGTERM are blocked except inside yield's ppoll, which unblocks
// them atomically with going to sleep: a signal that came between a check of
// g_stop_signals and the sleep would otherwise leave the loop asleep for ever
// with a stop request pending.
sigset_t g_sleep_mask;

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// With IFF_VNET_HDR the tap takes our checksum-partial and TSO frames (the
// kernel finishes them: tx_checksum, tso4). TUNSETOFFLOAD says which such
// frames we take from it: TUN_F_CSUM partial or verified checksums
// (rx_checksum), TUN_F_TSO4 coalesced TCP/IPv4 frames (gro4). Returns what
// the device then does.
Result<NetOffloads> configure_offloads(int fd, NetOffloads allowed) {
  int header_size = VirtioNetHeader::size;
  if (ioctl(fd, TUNSETVNETHDRSZ, &header_size) < 0) return fail(Errc::io_error, "TUNSETVNETHDRSZ failed");
  unsigned offload_flags = 0;
  if (allowed.rx_checksum) offload_flags |= TUN_F_CSUM;
  if (allowed.rx_checksum && allowed.gro4) offload_flags |= TUN_F_TSO4;
  if (ioctl(fd, TUNSETOFFLOAD, offload_flags) < 0) return fail(Errc::io_error, "TUNSETOFFLOAD failed");
  return allowed & NetOffloads{true, true, true, true};
}

Result<TapDevice> open_tap(std::string_view name) {
  if (name.size() >= IFNAMSIZ) return fail(Errc::invalid_argument, "tap name too long");
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return fail(Errc::io_error, "cannot open /dev/net/tun (needs root)");
  auto allowed = allowed_net_offloads();
  bool vnet_header = allowed != NetOffloads{};
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_header ? IFF_VNET_HDR : 0);
  std::memcpy(request.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    ::close(fd);
    return fail(Errc::io_error, "TUNSETIFF failed: is the tap device there and not in use?");
  }
  TapDevice device{fd, {}, vnet_header};
  if (!vnet_header) {
    // A persistent tap keeps what an earlier user set with TUNSETOFFLOAD;
    // without a vnet header we could not tell its partial-checksum or
    // coalesced frames from others. (Fails only on kernels without offloads.)
    (void)ioctl(fd, TUNSETOFFLOAD, 0u);
  } else if (auto configured = configure_offloads(fd, allowed); configured) {
    device.info.offloads = *configured;
  } else {
    ::close(fd);
    return std::unexpected(configured.error());
  }
  if (mac_arg.value()) {
    device.info.mac = *mac_arg.value();
  } else {
    auto& octets = device.info.mac.octets;
    TRY(entropy(std::as_writable_bytes(std::span(octets))));
    octets[0] = static_cast<std::uint8_t>((octets[0] & 0xfe) | 0x02);
  }
  device.info.mtu = mtu_arg.value();
  return device;
}

void on_stop_signal(int signal) {
  g_stop_signal = signal;
  g_stop_signals = g_stop_signals + 1;
}

[[noreturn]] void stop_on_signal() {
  ConsoleSink console;
  format_to(console, "morgana: stopped by signal {}\ncounters:\n", static_cast<int>(g_stop_signal));
  Counter::print_all(console);
  exit(128 + g_stop_signal);
}

} // namespace

void console_write(std::string_view text) {
  while (!text.empty()) {
    auto written = ::write(STDOUT_FILENO, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(written));
  }
}

std::int64_t monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }
std::int64_t wall_ns() { return clock_ns(CLOCK_REALTIME); }

Result<void> entropy(std::span<std::byte> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    auto n = getrandom(buffer.data() + done, buffer.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(Errc::no_entropy, "getrandom failed");
    done += static_cast<std::size_t>(n);
  }
  return {};
}

namespace {

// The budget: physical memory, or less when the process is limited (ulimit -v, -d).
std::size_t memory_budget() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page_size = sysconf(_SC_PAGESIZE);
  std::size_t total = pages > 0 && page_size > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size)
                                                 : std::size_t{1} << 30;
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit limit{};
    if (getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
      total = std::min<std::size_t>(total, limit.rlim_cur);
  }
  return total;
}

} // namespace

MemoryStats memory_stats() {
  // Taken once: TCP and HTTP ask on every connection, and the three system
  // calls behind it (sysinfo, two prlimit64) would answer the same each time.
  static const std::size_t total = memory_budget();
  // What malloc holds (under AddressSanitizer its own allocator, which this does not see).
  auto info = mallinfo2();
  std::size_t in_use = info.uordblks + info.hblkhd;
  return {total, total > in_use ? total - in_use : 0};
}

namespace {

// A first signal asks the application to stop (Context::stopped); with
// nobody waiting for that, or at a second signal, the process ends at once.
void handle_stop_signals() {
  if (g_stop_signals == 0) return;
  if (g_stop_signals > 1 || loop().stop_requests().empty()) stop_on_signal();
  if (!loop().stop_requested()) {
    hosted_log.info("stopping on signal {}", static_cast<int>(g_stop_signal));
    loop().request_stop(128 + g_stop_signal);
  }
}

} // namespace

void yield(std::int64_t deadline_ns) {
  std::vector<pollfd> fds;
  fds.reserve(g_devices.size() + g_watches.size());
  for (auto& device : g_devices) fds.push_back({device.fd, POLLIN, 0});
  for (auto& watch : g_watches) fds.push_back({watch.fd, watch.events, 0});
  // A deadline in the past polls without sleeping; the far future sleeps until a device wakes us.
  timespec timeout{};
  auto wait_ns = deadline_ns - monotonic_ns();
  if (wait_ns > 0) timeout = {static_cast<time_t>(wait_ns / 1'000'000'000), static_cast<long>(wait_ns % 1'000'000'000)};
  ppoll(fds.data(), fds.size(), deadline_ns == INT64_MAX ? nullptr : &timeout, &g_sleep_mask);
  handle_stop_signals();
  // Wake the waiters whose descriptors are ready (errors and hang-ups too: the
  // operation they retry reports them).
  auto watched = std::span(fds).subspan(g_devices.size());
  for (std::size_t i = 0; i < watched.size() && i < g_watches.size(); ++i)
    if (watched[i].revents) g_watches[i].ready->notify_all();
}

namespace hosted {

Task<Result<void>> wait_fd(int fd, short events, Instant deadline) {
  WaitQueue ready;
  g_watches.push_back({fd, events, &ready});
  // Unregisters also when the waiting coroutine is destroyed.
  struct Unwatch {
    WaitQueue* ready;
    ~Unwatch() {
      std::erase_if(g_watches, [&](const FdWatch& watch) { return watch.ready == ready; });
    }
  } unwatch{&ready};
  co_return co_await ready.wait(deadline);
}

} // namespace hosted

std::span<const std::string_view> boot_arguments() { return g_arguments; }

Result<void> start_devices() {
  if (net_arg.value().empty() || net_arg.value() == "socket") return {};
  g_devices.push_back(TRY(open_tap(net_arg.value())));
  auto& info = g_devices.back().info;
  hosted_log.info("tap {} up, MAC {}, MTU {}, offloads {}", net_arg.value(), info.mac, info.mtu, info.offloads);
  return {};
}

bool host_sockets() { return net_arg.value() == "socket"; }

std::size_t net_device_count() { return g_devices.size(); }
NetDeviceInfo net_device_info(std::size_t device) { return g_devices.at(device).info; }

Result<std::size_t> net_read(std::size_t device, std::span<std::byte> buffer, FrameOffload& offload) {
  offload = {};
  const auto& tap = g_devices.at(device);
  std::byte header[VirtioNetHeader::size];
  iovec pieces[2] = {{header, sizeof header}, {buffer.data(), buffer.size()}};
  auto first = tap.vnet_header ? 0 : 1;
  auto n = ::readv(tap.fd, pieces + first, 2 - first);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return 0;
    return fail(Errc::io_error, "tap read");
  }
  if (!tap.vnet_header) return static_cast<std::size_t>(n);
  if (static_cast<std::size_t>(n) < sizeof header) return fail(Errc::io_error, "tap frame without its vnet header");
  auto length = static_cast<std::size_t>(n) - sizeof header;
  // Only TSO4 was offered (TUNSETOFFLOAD): another GSO type is the kernel's mistake.
  offload = TRY(frame_offload_of(VirtioNetHeader::parse(header), length));
  return length;
}

Result<void> net_write(std::size_t device, std::span<const std::byte> frame, const FrameOffload& offload) {
  const auto& tap = g_devices.at(device);
  std::byte header[VirtioNetHeader::size];
  if (tap.vnet_header) TRY(virtio_net_header_for(frame, offload)).serialize(header);
  iovec pieces[2] = {{header, sizeof header}, {const_cast<std::byte*>(frame.data()), frame.size()}};
  auto first = tap.vnet_header ? 0 : 1;
  auto n = ::writev(tap.fd, pieces + first, 2 - first);
  if (n < 0) return fail(errno == EAGAIN ? Errc::would_block : Errc::io_error, "tap write");
  return {};
}

void exit(int status) { ::_exit(status); }

void abort(std::string_view why) {
  console_write("morgana abort: ");
  console_write(why);
  console_write("\n");
  std::abort();
}

} // namespace morgana::platform

int main(int argc, char** argv) {
  using namespace morgana::platform;
  for (int i = 1; i < argc; ++i) g_arguments.emplace_back(argv[i]);
  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, &g_sleep_mask);
  sigdelset(&g_sleep_mask, SIGINT);
  sigdelset(&g_sleep_mask, SIGTERM);
  morgana::platform::exit(morgana::boot::run());
}
