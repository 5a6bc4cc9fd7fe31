#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "morgana/net/tcp_header.h"
#include "morgana/net/tcp_sequence.h"

namespace morgana::net {

// What NextSeg (RFC 6675 §4) says to send.
struct NextSegment {
  enum class Kind : std::uint8_t {
    none,       // nothing may be sent
    retransmit, // [seq, seq + length) again; then raise HighRxt to its last byte
    new_data,   // up to SMSS of new data at SND.NXT (rule 2)
  };
  Kind kind = Kind::none;
  SequenceNumber seq;       // retransmit only
  std::uint32_t length = 0; // retransmit only: 1 to SMSS bytes
};

// The D-SACK block of an ACK (RFC 2883 §4): the first SACK block, when it lies
// at or below the cumulative acknowledgment or inside the second block.
[[nodiscard]] std::optional<SackBlock> dsack_block(SequenceNumber ack, std::span<const SackBlock> blocks);

// The sender's SACK scoreboard (RFC 6675): which bytes above SND.UNA the peer
// has reported holding, and from that IsLost, NextSeg and SetPipe (§4).
// At most max_ranges disjoint ranges are kept, without allocation.
//
// What the caller must do:
// - Call update() for every ACK, with or without SACK blocks, once SND.UNA
//   has taken the ACK's cumulative acknowledgment; snd_nxt is one past the
//   highest sequence number sent (SND.MAX if SND.NXT is ever rewound).
// - Keep every byte until SND.UNA passes it: a receiver may renege on SACKed
//   data (RFC 2018 §8), so this scoreboard only steers retransmission.
// - Call clear() on a retransmission timeout: the scoreboard then starts again
//   from the next ACK (the simple choice RFC 6675 §5.1 allows).
// - With RACK (RFC 8985), call set_rack_lost_end() after every ACK and timer:
//   losses are then what RACK marked, not what DupThresh infers.
// - During loss recovery, track HighRxt (RFC 6675 §2): the last byte
//   retransmitted in this recovery; set it to snd_una - 1 when recovery starts.
//   Send by next_seg() while cwnd - pipe() >= SMSS (§5 step C).
class SackScoreboard {
public:
  static constexpr std::size_t max_ranges = 32;
  static constexpr std::uint32_t dup_thresh = 3; // DupThresh (RFC 6675 §2)

  explicit SackScoreboard(std::uint32_t smss) : m_smss(smss) {}

  // Forgets what snd_una has passed and merges the blocks in. Blocks wholly
  // at or below snd_una (D-SACK, RFC 2883, or old) are ignored; blocks that are
  // empty or reach beyond snd_nxt are invalid and counted. When more than
  // max_ranges ranges would result, the lowest is forgotten. Returns how many
  // bytes were newly SACKed (RFC 6675 §2 lets that mark a duplicate ACK).
  std::uint32_t update(SequenceNumber snd_una, SequenceNumber snd_nxt, std::span<const SackBlock> blocks);
  void clear() { m_count = 0; }
  // Who decides which holes are lost. nullopt: IsLost's DupThresh rule (RFC
  // 6675 §4). A sequence number: RACK (RFC 8985 §6.2) marked every unSACKed
  // byte below it lost and nothing above it; NextSeg then retransmits only
  // those (rule 3 would retransmit data RACK still deems reordered).
  void set_rack_lost_end(std::optional<SequenceNumber> lost_end) { m_rack_lost_end = lost_end; }

  // IsLost (RFC 6675 §4): DupThresh discontiguous SACKed ranges, or more than
  // (DupThresh - 1) * SMSS SACKed bytes, above seq; with RACK, seq is unSACKed
  // and below the lost end.
  [[nodiscard]] bool is_lost(SequenceNumber seq) const;
  [[nodiscard]] bool is_sacked(SequenceNumber seq) const;
  // NextSeg (RFC 6675 §4) rules 1-3; new_data_allowed says whether unsent data
  // exists and the peer's window admits it (rule 2).
  [[nodiscard]] NextSegment next_seg(SequenceNumber snd_una, SequenceNumber high_rxt, bool new_data_allowed) const;
  // SetPipe (RFC 6675 §4), in bytes: unSACKed bytes in [snd_una, snd_nxt)
  // not deemed lost, plus those retransmitted (up to high_rxt).
  [[nodiscard]] std::uint32_t pipe(SequenceNumber snd_una, SequenceNumber snd_nxt, SequenceNumber high_rxt) const;
  [[nodiscard]] std::uint32_t sacked_bytes() const;
  // The SACKed ranges, ascending from SND.UNA, disjoint and not adjacent.
  [[nodiscard]] std::span<const SackBlock> ranges() const { return {m_ranges.data(), m_count}; }
  [[nodiscard]] bool empty() const { return m_count == 0; }

private:
  // A range as offsets from SND.UNA: plain integers, ordered without wrap-around.
  struct Span {
    std::uint32_t begin;
    std::uint32_t end;
  };
  struct Spans {
    std::array<Span, max_ranges> spans;
    // The hole below span k (k == count: above the highest) is lost from its
    // start up to lost_until[k]: all of it or none by DupThresh, a prefix by RACK.
    std::array<std::uint32_t, max_ranges + 1> lost_until;
    std::size_t count = 0;
  };

  [[nodiscard]] Spans relative_to(SequenceNumber snd_una) const;
  [[nodiscard]] bool dupthresh_lost(std::size_t ranges_above, std::uint32_t bytes_above) const;
  void trim(SequenceNumber snd_una);
  void insert(SequenceNumber snd_una, std::uint32_t begin, std::uint32_t end);

  std::uint32_t m_smss;
  std::array<SackBlock, max_ranges> m_ranges{};
  std::size_t m_count = 0;
  std::optional<SequenceNumber> m_rack_lost_end;
};

} // namespace morgana::net
