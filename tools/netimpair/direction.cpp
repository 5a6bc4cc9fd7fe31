#include "direction.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cmath>
#include <utility>

namespace netimpair {
namespace {

constexpr std::size_t ethernet_header_size = 14;
constexpr std::size_t spare_buffer_limit = 4096;

// Unicast IPv4: what the impairments apply to. Kernel chatter such as IGMP reports
// (multicast, sent at random times when a link comes up) would otherwise shift the
// frame positions that a seed's decisions are tied to.
bool is_unicast_ipv4(std::span<const std::byte> frame) {
  return frame.size() >= ethernet_header_size && frame[12] == std::byte{0x08} && frame[13] == std::byte{0x00} &&
         (frame[0] & std::byte{0x01}) == std::byte{0};
}

// The heap's order: std::push_heap keeps the greatest on top, so "greater" is later.
constexpr auto later_release = [](const auto& left, const auto& right) {
  if (left.release_at != right.release_at) return left.release_at > right.release_at;
  return left.arrival > right.arrival;
};

} // namespace

Direction::Direction(std::string name, const Impairment& impairment, std::uint64_t seed, Link& output,
                     bool spare_non_ipv4, std::size_t queue_limit, bool verbose)
    : m_name(std::move(name)), m_impairment(impairment), m_random(seed), m_output(output),
      m_spare_non_ipv4(spare_non_ipv4), m_queue_limit(queue_limit), m_verbose(verbose) {}

void Direction::receive(std::span<const std::byte> frame, Nanoseconds now) {
  ++m_counters.received;
  if (m_spare_non_ipv4 && !is_unicast_ipv4(frame)) {
    ++m_counters.spared;
    emit(frame);
    return;
  }

  std::uint64_t index = m_ipv4_frames++;
  double drop_draw = m_random.unit();
  double duplicate_draw = m_random.unit();
  std::array<double, 2> reorder_draws{m_random.unit(), m_random.unit()};
  std::array<double, 2> jitter_draws{m_random.unit(), m_random.unit()};

  bool drop = drop_draw * 100 < m_impairment.drop_percent;
  bool duplicate = !drop && duplicate_draw * 100 < m_impairment.duplicate_percent;
  std::uint64_t outcome = (drop ? 1U : 0U) | (duplicate ? 2U : 0U);
  if (drop) {
    ++m_counters.dropped;
    record_decision(index, outcome);
    if (m_verbose)
      std::fprintf(stderr, "netimpair: %s #%" PRIu64 " %zu bytes: dropped\n", m_name.c_str(), index, frame.size());
    return;
  }
  if (duplicate) ++m_counters.duplicated;

  int copies = duplicate ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    Nanoseconds delay = m_impairment.delay;
    if (m_impairment.jitter > 0) {
      double offset = (2 * jitter_draws[copy] - 1) * static_cast<double>(m_impairment.jitter);
      delay = std::max<Nanoseconds>(0, delay + std::llround(offset));
    }
    bool held = reorder_draws[copy] * 100 < m_impairment.reorder_percent;
    outcome = outcome * 31 + static_cast<std::uint64_t>(delay) * 2 + (held ? 1 : 0);
    if (m_verbose)
      std::fprintf(stderr, "netimpair: %s #%" PRIu64 " %zu bytes: %s delay %.3f ms%s\n", m_name.c_str(), index,
                   frame.size(), copy == 0 ? "forwarded" : "duplicate", static_cast<double>(delay) / 1e6,
                   held ? ", held back" : "");

    if (in_flight() >= m_queue_limit && (delay > 0 || held)) {
      ++m_counters.queue_full;
      continue;
    }
    if (delay > 0) ++m_counters.delayed;
    if (held) ++m_counters.reordered;
    if (delay > 0) {
      m_delay_line.push_back({now + delay, m_arrivals++, held, copy_of(frame)});
      std::push_heap(m_delay_line.begin(), m_delay_line.end(), later_release);
    } else if (held) {
      hold(copy_of(frame), now);
    } else {
      emit(frame);
      count_down_held();
    }
  }
  record_decision(index, outcome);
}

// Sends the held frames that `should_release` picks, in the order they were held.
template <class Predicate>
void Direction::release_held(Predicate should_release) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < m_held.size(); ++i) {
    if (should_release(m_held[i])) {
      emit(m_held[i].frame);
      recycle(std::move(m_held[i].frame));
    } else {
      if (kept != i) m_held[kept] = std::move(m_held[i]);
      ++kept;
    }
  }
  m_held.erase(m_held.begin() + static_cast<std::ptrdiff_t>(kept), m_held.end());
}

void Direction::release_due(Nanoseconds now) {
  while (!m_delay_line.empty() && m_delay_line.front().release_at <= now) {
    std::pop_heap(m_delay_line.begin(), m_delay_line.end(), later_release);
    Scheduled due = std::move(m_delay_line.back());
    m_delay_line.pop_back();
    if (due.hold) {
      hold(std::move(due.frame), now);
    } else {
      emit(due.frame);
      recycle(std::move(due.frame));
      count_down_held();
    }
  }
  release_held([now](const Held& held) { return held.deadline <= now; });
}

std::optional<Nanoseconds> Direction::next_deadline() const {
  std::optional<Nanoseconds> deadline;
  if (!m_delay_line.empty()) deadline = m_delay_line.front().release_at;
  for (const auto& held : m_held) deadline = std::min(deadline.value_or(held.deadline), held.deadline);
  return deadline;
}

void Direction::print_counters(std::FILE* out) const {
  auto line = [&](const char* counter, std::uint64_t value) {
    std::fprintf(out, "  %s.%s %" PRIu64 "\n", m_name.c_str(), counter, value);
  };
  line("received", m_counters.received);
  line("spared", m_counters.spared);
  line("dropped", m_counters.dropped);
  line("duplicated", m_counters.duplicated);
  line("reordered", m_counters.reordered);
  line("delayed", m_counters.delayed);
  line("queue_full", m_counters.queue_full);
  line("forwarded", m_counters.forwarded);
  line("forwarded_bytes", m_counters.forwarded_bytes);
  line("send_errors", m_counters.send_errors);
  line("in_flight", in_flight());
  std::fprintf(out, "  %s.decision_hash %016" PRIx64 "\n", m_name.c_str(), m_decision_hash);
}

Direction::Buffer Direction::copy_of(std::span<const std::byte> frame) {
  Buffer buffer;
  if (!m_spare_buffers.empty()) {
    buffer = std::move(m_spare_buffers.back());
    m_spare_buffers.pop_back();
  }
  buffer.assign(frame.begin(), frame.end());
  return buffer;
}

void Direction::recycle(Buffer&& buffer) {
  if (m_spare_buffers.size() < spare_buffer_limit) m_spare_buffers.push_back(std::move(buffer));
}

void Direction::hold(Buffer&& frame, Nanoseconds now) {
  m_held.push_back({now + m_impairment.reorder_timeout, m_impairment.reorder_gap, std::move(frame)});
}

void Direction::emit(std::span<const std::byte> frame) {
  if (m_output.send(frame)) {
    ++m_counters.forwarded;
    m_counters.forwarded_bytes += frame.size();
  } else {
    ++m_counters.send_errors;
  }
}

void Direction::count_down_held() {
  if (m_held.empty()) return;
  for (auto& held : m_held) --held.frames_to_wait;
  release_held([](const Held& held) { return held.frames_to_wait == 0; });
}

void Direction::record_decision(std::uint64_t index, std::uint64_t outcome) {
  for (std::uint64_t word : {index, outcome}) {
    for (int shift = 0; shift < 64; shift += 8) {
      m_decision_hash ^= (word >> shift) & 0xff;
      m_decision_hash *= 0x100000001b3; // FNV-1a prime
    }
  }
}

} // namespace netimpair
