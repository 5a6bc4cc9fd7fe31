#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "link.h"
#include "options.h"
#include "random.h"

namespace netimpair {

struct DirectionCounters {
  std::uint64_t received = 0;        // frames read from the input link
  std::uint64_t spared = 0;          // non-IPv4 frames passed on unimpaired (--spare-arp)
  std::uint64_t dropped = 0;         // by --drop
  std::uint64_t duplicated = 0;      // extra copies made by --dup
  std::uint64_t reordered = 0;       // copies held back by --reorder
  std::uint64_t delayed = 0;         // copies given a delay above zero
  std::uint64_t queue_full = 0;      // copies dropped because --queue-limit frames were in flight
  std::uint64_t forwarded = 0;       // frames written to the output link
  std::uint64_t forwarded_bytes = 0; //
  std::uint64_t send_errors = 0;     // frames the output link refused
};

// One direction of the forwarder. Every IPv4 frame draws the same number of
// random values whatever the outcome, so frame k's decisions depend only on
// the seed and k: runs with the same seed and frames decide alike.
//
// A copy that survives goes through the delay line (a heap ordered by release
// time, then arrival), then, if chosen for reordering, waits in the hold list
// until reorder_gap later frames went out or reorder_timeout passed.
class Direction {
public:
  Direction(std::string name, const Impairment& impairment, std::uint64_t seed, Link& output, bool spare_non_ipv4,
            std::size_t queue_limit, bool verbose);

  void receive(std::span<const std::byte> frame, Nanoseconds now);
  void release_due(Nanoseconds now);
  [[nodiscard]] std::optional<Nanoseconds> next_deadline() const;

  [[nodiscard]] const DirectionCounters& counters() const { return m_counters; }
  [[nodiscard]] std::uint64_t decision_hash() const { return m_decision_hash; }
  [[nodiscard]] std::size_t in_flight() const { return m_delay_line.size() + m_held.size(); }
  void print_counters(std::FILE* out) const;

private:
  using Buffer = std::vector<std::byte>;

  struct Scheduled {
    Nanoseconds release_at;
    std::uint64_t arrival; // keeps frames with equal release times in arrival order
    bool hold;
    Buffer frame;
  };
  struct Held {
    Nanoseconds deadline;
    std::uint32_t frames_to_wait;
    Buffer frame;
  };

  Buffer copy_of(std::span<const std::byte> frame);
  void recycle(Buffer&& buffer);
  void hold(Buffer&& frame, Nanoseconds now);
  void emit(std::span<const std::byte> frame);
  // A frame went out: each held frame waits for one fewer.
  void count_down_held();
  template <class Predicate>
  void release_held(Predicate should_release);
  void record_decision(std::uint64_t index, std::uint64_t outcome);

  std::string m_name;
  Impairment m_impairment;
  Random m_random;
  Link& m_output;
  bool m_spare_non_ipv4;
  std::size_t m_queue_limit;
  bool m_verbose;

  std::uint64_t m_ipv4_frames = 0;
  std::uint64_t m_arrivals = 0;
  std::uint64_t m_decision_hash = 0xcbf29ce484222325; // FNV-1a offset basis
  std::vector<Scheduled> m_delay_line;                // a min-heap on (release_at, arrival)
  std::vector<Held> m_held;                           // in the order they were held
  std::vector<Buffer> m_spare_buffers;
  DirectionCounters m_counters;
};

} // namespace netimpair
