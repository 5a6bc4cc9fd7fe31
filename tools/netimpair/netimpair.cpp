// netimpair: forwards Ethernet frames between two links (taps or AF_PACKET
// interfaces) and impairs them, seeded, for tests on a kernel without netem.
// Usage and topology: docs/netimpair.md; `netimpair --help`.

#include <poll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "direction.h"
#include "link.h"
#include "options.h"

namespace netimpair {
namespace {

// Frames read from one link before the other gets its turn.
constexpr int receive_batch = 64;
// Larger than any frame a tap or an interface with offloads hands over.
constexpr std::size_t receive_buffer_size = 128 * 1024;

Nanoseconds monotonic_now() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return Nanoseconds{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::uint64_t random_seed() {
  std::uint64_t seed = 0;
  if (getrandom(&seed, sizeof seed, 0) != sizeof seed) seed = static_cast<std::uint64_t>(monotonic_now());
  return seed;
}

void describe(const char* name, const Impairment& impairment) {
  std::printf("netimpair: %s drop %g%% dup %g%% reorder %g%% (gap %" PRIu32 ", timeout %.3f ms) delay %.3f ms "
              "jitter %.3f ms\n",
              name, impairment.drop_percent, impairment.duplicate_percent, impairment.reorder_percent,
              impairment.reorder_gap, static_cast<double>(impairment.reorder_timeout) / 1e6,
              static_cast<double>(impairment.delay) / 1e6, static_cast<double>(impairment.jitter) / 1e6);
}

void print_counters(const Direction& a_to_b, const Direction& b_to_a) {
  std::printf("netimpair: counters\n");
  a_to_b.print_counters(stdout);
  b_to_a.print_counters(stdout);
  std::fflush(stdout);
}

// Reads up to a batch of frames from `input` into `direction`; false on a read error.
bool drain(Link& input, Direction& direction, std::span<std::byte> buffer) {
  Nanoseconds now = monotonic_now();
  for (int i = 0; i < receive_batch; ++i) {
    auto length = input.receive(buffer);
    if (!length) {
      std::fprintf(stderr, "netimpair: %s\n", length.error().c_str());
      return false;
    }
    if (!*length) return true;
    direction.receive(buffer.first(**length), now);
  }
  return true;
}

int run(const Options& options) {
  // SIGTERM, SIGINT and SIGUSR1 arrive through a descriptor, between frames.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, signal);
  if (sigprocmask(SIG_BLOCK, &signals, nullptr) != 0) {
    std::perror("netimpair: sigprocmask");
    return 1;
  }
  int signal_fd = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd < 0) {
    std::perror("netimpair: signalfd");
    return 1;
  }
  // Delays are timer deadlines: keep the kernel's wake-up slack small.
  prctl(PR_SET_TIMERSLACK, 1000UL);

  auto a = Link::open(options.a);
  if (!a) {
    std::fprintf(stderr, "netimpair: --a: %s\n", a.error().c_str());
    return 1;
  }
  auto b = Link::open(options.b);
  if (!b) {
    std::fprintf(stderr, "netimpair: --b: %s\n", b.error().c_str());
    return 1;
  }

  std::uint64_t seed = options.seed_given ? options.seed : random_seed();
  std::uint64_t seed_stream = seed;
  Direction a_to_b("a_to_b", options.a_to_b, Random::splitmix64(seed_stream), *b, options.spare_non_ipv4,
                   options.queue_limit, options.verbose);
  Direction b_to_a("b_to_a", options.b_to_a, Random::splitmix64(seed_stream), *a, options.spare_non_ipv4,
                   options.queue_limit, options.verbose);

  describe("a_to_b", options.a_to_b);
  describe("b_to_a", options.b_to_a);
  std::printf("netimpair: seed %" PRIu64 "%s\n", seed, options.spare_non_ipv4 ? ", non-IPv4 frames spared" : "");
  std::printf("netimpair: forwarding %s <-> %s\n", a->name().c_str(), b->name().c_str());
  std::fflush(stdout);

  std::vector<std::byte> buffer(receive_buffer_size);
  std::array<pollfd, 3> fds{{{a->fd(), POLLIN, 0}, {b->fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}}};
  while (true) {
    std::optional<Nanoseconds> deadline;
    for (const Direction* direction : {&a_to_b, &b_to_a}) {
      if (auto next = direction->next_deadline()) deadline = std::min(deadline.value_or(*next), *next);
    }
    timespec timeout{};
    if (deadline) {
      Nanoseconds wait = std::max<Nanoseconds>(0, *deadline - monotonic_now());
      timeout = {static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
    }
    if (ppoll(fds.data(), fds.size(), deadline ? &timeout : nullptr, nullptr) < 0 && errno != EINTR) {
      std::perror("netimpair: ppoll");
      return 1;
    }
    for (auto [index, link, direction] : {std::tuple{0, &*a, &a_to_b}, std::tuple{1, &*b, &b_to_a}}) {
      short events = fds[static_cast<std::size_t>(index)].revents;
      if (events & (POLLERR | POLLNVAL)) {
        std::fprintf(stderr, "netimpair: %s failed (poll events %#x)\n", link->name().c_str(), events);
        return 1;
      }
      if ((events & POLLIN) && !drain(*link, *direction, buffer)) return 1;
    }
    if (fds[2].revents & POLLIN) {
      signalfd_siginfo info{};
      while (read(signal_fd, &info, sizeof info) == sizeof info) {
        print_counters(a_to_b, b_to_a);
        if (info.ssi_signo != SIGUSR1) return 0;
      }
    }
    Nanoseconds now = monotonic_now();
    a_to_b.release_due(now);
    b_to_a.release_due(now);
  }
}

} // namespace
} // namespace netimpair

int main(int argc, char** argv) {
  auto options = netimpair::parse_options(std::span(argv + 1, static_cast<std::size_t>(argc - 1)));
  if (!options) {
    std::fprintf(stderr, "netimpair: %s (see --help)\n", options.error().c_str());
    return 2;
  }
  if (options->help) {
    std::fputs(netimpair::help_text, stdout);
    return 0;
  }
  return netimpair::run(*options);
}
