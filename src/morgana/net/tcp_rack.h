#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "morgana/core/result.h"
#include "morgana/core/time.h"
#include "morgana/net/tcp_header.h"
#include "morgana/net/tcp_sequence.h"

namespace morgana::net {

// RACK (RFC 8985 §6): time-based loss detection over SACK. A segment is lost
// when a segment sent sufficiently later (by RACK.rtt plus the reordering
// window) has been delivered; reordering by less than that window costs
// nothing. Pure state driven by method calls: no clock reads, no timers.
//
// It keeps a record (sequence range, transmit time) of every data segment in
// flight, by sequence range so a segment may be of any size (TSO). The records
// live in a fixed array sized when the connection's buffers are; when it is
// full, RACK stops judging until everything in flight is acknowledged, and
// tracking() says the caller must fall back to DupThresh (RFC 6675).
//
// What the caller must do:
// - Call on_sent() for every transmission of data or FIN (retransmissions too).
// - Call on_ack() for every ACK, after SND.UNA and the SACK scoreboard took it,
//   and detect_loss() when the reordering timer (its result's timeout) fires.
// - Call on_retransmit_timeout() and on_recovery_end() as those happen.
class Rack {
public:
  // What an ACK or the reordering timer found.
  struct Verdict {
    bool new_losses = false;
    // Every unSACKed byte below this is lost (SackScoreboard::set_rack_lost_end);
    // nullopt when RACK is not tracking (fall back to DupThresh).
    std::optional<SequenceNumber> lost_end;
    // The lowest retransmission found lost again (RFC 8985 §6.2 step 5
    // covers retransmissions too): HighRxt must drop below it.
    std::optional<SequenceNumber> lost_retransmission;
    // When to run detect_loss() again (the reordering timer); zero for never.
    Duration reorder_timeout{};
  };

  // Allocates `records` segment records; Errc::no_memory on failure.
  [[nodiscard]] Result<void> allocate(std::size_t records);
  [[nodiscard]] bool allocated() const { return m_records != nullptr; }
  [[nodiscard]] bool tracking() const { return allocated() && !m_overflowed; }

  // [begin, end) went out at `now`; a retransmission when begin is below the
  // highest sequence number recorded.
  void on_sent(SequenceNumber begin, SequenceNumber end, Instant now);
  // `dsack`: the ACK carried a D-SACK block (RFC 2883), which widens the
  // reordering window (RFC 8985 §6.2 step 4).
  Verdict on_ack(SequenceNumber snd_una, SequenceNumber snd_nxt, std::span<const SackBlock> sacked, bool dsack,
                 bool in_recovery, Duration srtt, Instant now);
  // RFC 8985 §6.2 step 5, also when the reordering timer fires.
  Verdict detect_loss(SequenceNumber snd_una, bool in_recovery, Duration srtt, Instant now);
  // RFC 8985 §6.3: after an RTO everything in flight is retransmitted anew.
  void on_retransmit_timeout();
  // Fast or RTO recovery ended: after 16 recoveries without D-SACK the
  // reordering window shrinks back (RFC 8985 §6.2 step 4).
  void on_recovery_end();

  // RACK.reo_wnd as it stands (RFC 8985 §6.2 step 4).
  [[nodiscard]] Duration reordering_window(bool in_recovery, Duration srtt) const;
  [[nodiscard]] bool reordering_seen() const { return m_reordering_seen; }
  [[nodiscard]] Duration min_rtt() const { return m_min_rtt; }
  [[nodiscard]] std::size_t records() const { return m_end - m_begin; }

private:
  struct Record {
    SequenceNumber begin;
    SequenceNumber end;
    Instant sent;
    bool retransmitted = false;
    bool sacked = false;
    bool lost = false;
  };

  // RFC 8985 §6.2 steps 2-3 for one newly delivered segment.
  void on_delivered(const Record& record, Instant now);
  bool make_room();
  void forget_all();

  std::unique_ptr<Record[]> m_records;
  std::size_t m_capacity = 0;
  std::size_t m_begin = 0; // the records in flight are [m_begin, m_end), ascending
  std::size_t m_end = 0;
  bool m_overflowed = false;

  // The most recently sent segment delivered (RACK.xmit_ts, RACK.end_seq), its RTT.
  bool m_delivered = false;
  Instant m_xmit_ts;
  SequenceNumber m_end_seq;
  Duration m_rtt{};
  Duration m_min_rtt = Duration::max();
  SequenceNumber m_fack; // the highest sequence number delivered
  bool m_reordering_seen = false;
  // D-SACK adaptation (RFC 8985 §6.2 step 4).
  std::uint32_t m_reo_wnd_mult = 1;
  int m_reo_wnd_persist = 0;
  std::optional<SequenceNumber> m_dsack_round;
};

} // namespace morgana::net
