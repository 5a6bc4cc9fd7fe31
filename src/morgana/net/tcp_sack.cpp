#include "morgana/net/tcp_sack.h"

#include <algorithm>

#include "morgana/core/counter.h"

namespace morgana::net {

namespace {

Counter sack_block_invalid{"tcp.sack_block_invalid", "SACK blocks ignored: empty, reversed or beyond SND.NXT"};
Counter sack_range_forgotten{"tcp.sack_range_forgotten", "SACKed ranges forgotten because the scoreboard was full"};

// The distance from base up to seq, or 0 when seq is not above base.
std::uint32_t offset_from(SequenceNumber base, SequenceNumber seq) {
  return static_cast<std::uint32_t>(std::max(seq - base, 0));
}

} // namespace

std::optional<SackBlock> dsack_block(SequenceNumber ack, std::span<const SackBlock> blocks) {
  if (blocks.empty()) return std::nullopt;
  const SackBlock& first = blocks[0];
  if (!(first.left < first.right)) return std::nullopt;
  if (first.right <= ack) return first;
  if (blocks.size() > 1 && blocks[1].left <= first.left && first.right <= blocks[1].right) return first;
  return std::nullopt;
}

std::uint32_t SackScoreboard::update(SequenceNumber snd_una, SequenceNumber snd_nxt,
                                     std::span<const SackBlock> blocks) {
  trim(snd_una);
  std::uint32_t before = sacked_bytes();
  for (const SackBlock& block : blocks) {
    // Distances back from snd_nxt: a block must lie wholly below it (RFC 2018
    // §3 reports only data received) and be non-empty, without wrapping.
    if (snd_nxt - block.right < 0 || snd_nxt - block.left <= snd_nxt - block.right) {
      sack_block_invalid.increment();
      continue;
    }
    if (block.right <= snd_una) continue; // a D-SACK (RFC 2883 §4) or an old block
    insert(snd_una, offset_from(snd_una, block.left), offset_from(snd_una, block.right));
  }
  std::uint32_t after = sacked_bytes();
  return after > before ? after - before : 0;
}

void SackScoreboard::trim(SequenceNumber snd_una) {
  std::size_t passed = 0;
  while (passed < m_count && m_ranges[passed].right <= snd_una) ++passed;
  std::copy(m_ranges.begin() + passed, m_ranges.begin() + m_count, m_ranges.begin());
  m_count -= passed;
  if (m_count > 0 && m_ranges[0].left < snd_una) m_ranges[0].left = snd_una;
}

void SackScoreboard::insert(SequenceNumber snd_una, std::uint32_t begin, std::uint32_t end) {
  // Ranges [i, j) overlap or touch [begin, end) and merge with it.
  std::size_t i = 0;
  while (i < m_count && offset_from(snd_una, m_ranges[i].right) < begin) ++i;
  std::size_t j = i;
  for (; j < m_count && offset_from(snd_una, m_ranges[j].left) <= end; ++j) {
    begin = std::min(begin, offset_from(snd_una, m_ranges[j].left));
    end = std::max(end, offset_from(snd_una, m_ranges[j].right));
  }
  SackBlock merged{snd_una + begin, snd_una + end};
  if (i < j) {
    m_ranges[i] = merged;
    std::copy(m_ranges.begin() + j, m_ranges.begin() + m_count, m_ranges.begin() + i + 1);
    m_count -= j - i - 1;
    return;
  }
  if (m_count == max_ranges) {
    sack_range_forgotten.increment();
    if (i == 0) return; // the new range is the lowest one
    std::copy(m_ranges.begin() + 1, m_ranges.end(), m_ranges.begin());
    --m_count;
    --i;
  }
  std::copy_backward(m_ranges.begin() + i, m_ranges.begin() + m_count, m_ranges.begin() + m_count + 1);
  m_ranges[i] = merged;
  ++m_count;
}

SackScoreboard::Spans SackScoreboard::relative_to(SequenceNumber snd_una) const {
  Spans result;
  for (const SackBlock& range : ranges()) {
    if (range.right <= snd_una) continue;
    result.spans[result.count++] = {offset_from(snd_una, range.left), offset_from(snd_una, range.right)};
  }
  auto hole_begin = [&](std::size_t k) { return k == 0 ? 0 : result.spans[k - 1].end; };
  result.lost_until[result.count] = hole_begin(result.count); // nothing SACKed above it
  if (m_rack_lost_end) {
    std::uint32_t lost_end = offset_from(snd_una, *m_rack_lost_end);
    for (std::size_t k = 0; k <= result.count; ++k) {
      std::uint32_t end = k < result.count ? result.spans[k].begin : std::max(lost_end, hole_begin(k));
      result.lost_until[k] = std::clamp(lost_end, hole_begin(k), end);
    }
    return result;
  }
  // Every byte of a hole has the same SACKed data above it, so IsLost holds
  // for all of the hole or none of it.
  std::uint32_t bytes_above = 0;
  for (std::size_t k = result.count; k-- > 0;) {
    bytes_above += result.spans[k].end - result.spans[k].begin;
    bool lost = dupthresh_lost(result.count - k, bytes_above);
    result.lost_until[k] = lost ? result.spans[k].begin : hole_begin(k);
  }
  return result;
}

bool SackScoreboard::dupthresh_lost(std::size_t ranges_above, std::uint32_t bytes_above) const {
  return ranges_above >= dup_thresh || bytes_above > (dup_thresh - 1) * m_smss;
}

bool SackScoreboard::is_lost(SequenceNumber seq) const {
  if (m_rack_lost_end) return seq < *m_rack_lost_end && !is_sacked(seq);
  SequenceNumber above = seq + 1;
  std::size_t ranges_above = 0;
  std::uint32_t bytes_above = 0;
  for (const SackBlock& range : ranges()) {
    if (range.right <= above) continue;
    ++ranges_above;
    bytes_above += offset_from(seq_max(range.left, above), range.right);
  }
  return dupthresh_lost(ranges_above, bytes_above);
}

bool SackScoreboard::is_sacked(SequenceNumber seq) const {
  return std::ranges::any_of(ranges(),
                             [seq](const SackBlock& range) { return range.left <= seq && seq < range.right; });
}

NextSegment SackScoreboard::next_seg(SequenceNumber snd_una, SequenceNumber high_rxt, bool new_data_allowed) const {
  Spans relative = relative_to(snd_una);
  // The smallest unSACKed byte above HighRxt and below the highest SACKed byte
  // (rule 1.a, 1.b; rule 3.a, 3.b), within hole k.
  std::uint32_t start = offset_from(snd_una, high_rxt + 1);
  std::size_t k = 0;
  std::uint32_t candidate = 0;
  for (; k < relative.count; ++k) {
    std::uint32_t hole_begin = k == 0 ? 0 : relative.spans[k - 1].end;
    candidate = std::max(hole_begin, start);
    if (candidate < relative.spans[k].begin) break;
  }
  bool found = k < relative.count;
  bool lost = found && candidate < relative.lost_until[k];
  NextSegment retransmit;
  if (found) {
    std::uint32_t end = lost ? relative.lost_until[k] : relative.spans[k].begin;
    retransmit = {NextSegment::Kind::retransmit, snd_una + candidate, std::min(m_smss, end - candidate)};
  }
  // Rule 1 (1.c): IsLost. Holes further up have less SACKed above them (and
  // RACK's lost bytes are a prefix), so if the lowest candidate is not lost,
  // none is.
  if (lost) return retransmit;
  if (new_data_allowed) return {NextSegment::Kind::new_data, {}, 0}; // rule 2
  if (found && !m_rack_lost_end) return retransmit;                  // rule 3
  return {};
}

std::uint32_t SackScoreboard::pipe(SequenceNumber snd_una, SequenceNumber snd_nxt, SequenceNumber high_rxt) const {
  Spans relative = relative_to(snd_una);
  std::uint32_t flight_size = offset_from(snd_una, snd_nxt);
  std::uint32_t retransmitted_end = std::min(offset_from(snd_una, high_rxt + 1), flight_size);
  std::uint32_t pipe = 0;
  // Hole k lies below span k; hole `count` is everything above the highest SACK.
  for (std::size_t k = 0; k <= relative.count; ++k) {
    std::uint32_t begin = std::min(k == 0 ? 0 : relative.spans[k - 1].end, flight_size);
    std::uint32_t end = std::min(k < relative.count ? relative.spans[k].begin : flight_size, flight_size);
    if (end <= begin) continue;
    pipe += end - std::clamp(relative.lost_until[k], begin, end);                    // SetPipe (a)
    if (retransmitted_end > begin) pipe += std::min(end, retransmitted_end) - begin; // SetPipe (b)
  }
  return pipe;
}

std::uint32_t SackScoreboard::sacked_bytes() const {
  std::uint32_t total = 0;
  for (const SackBlock& range : ranges()) total += offset_from(range.left, range.right);
  return total;
}

} // namespace morgana::net
