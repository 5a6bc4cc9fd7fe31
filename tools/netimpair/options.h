#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <span>
#include <string>

namespace netimpair {

using Nanoseconds = std::int64_t;

// What happens to the IPv4 frames of one direction.
struct Impairment {
  double drop_percent = 0;
  double duplicate_percent = 0;
  double reorder_percent = 0;
  std::uint32_t reorder_gap = 3;            // a held frame goes out after this many later frames...
  Nanoseconds reorder_timeout = 20'000'000; // ...or after this long, whichever comes first
  Nanoseconds delay = 0;
  Nanoseconds jitter = 0; // the delay varies uniformly within delay ± jitter (never below 0)

  [[nodiscard]] bool is_none() const {
    return drop_percent == 0 && duplicate_percent == 0 && reorder_percent == 0 && delay == 0 && jitter == 0;
  }
};

enum class LinkKind : std::uint8_t {
  tap,    // a tap device, opened through /dev/net/tun
  packet, // any interface, through an AF_PACKET socket
};

struct LinkSpec {
  LinkKind kind = LinkKind::tap;
  std::string interface;
  std::string netns; // a name under /run/netns or a path; empty: the namespace netimpair runs in
};

struct Options {
  LinkSpec a;
  LinkSpec b;
  Impairment a_to_b;
  Impairment b_to_a;
  std::uint64_t seed = 0;
  bool seed_given = false;
  bool spare_non_ipv4 = true;
  bool verbose = false;
  std::size_t queue_limit = 20'000; // frames in flight per direction
  bool help = false;
};

[[nodiscard]] std::expected<Options, std::string> parse_options(std::span<char* const> arguments);

extern const char* const help_text;

} // namespace netimpair
