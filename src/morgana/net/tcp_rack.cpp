#include "morgana/net/tcp_rack.h"

#include <algorithm>

#include "morgana/core/memory.h"

namespace morgana::net {

namespace {

// RFC 8985 §6.2 step 4: the window goes back to its base after this many recoveries without D-SACK.
constexpr int reo_wnd_persist_recoveries = 16;
// RFC 8985 §6.2 step 4 (as DupThresh, RFC 6675 §2).
constexpr std::size_t dup_thresh = 3;

// RACK_sent_after (RFC 8985 §6.2): t1 after t2, the sequence number breaking ties.
bool sent_after(Instant t1, SequenceNumber seq1, Instant t2, SequenceNumber seq2) {
  return t1 > t2 || (t1 == t2 && seq1 > seq2);
}

bool covered_by(std::span<const SackBlock> sacked, SequenceNumber begin, SequenceNumber end) {
  return std::ranges::any_of(sacked, [&](const SackBlock& block) { return block.left <= begin && end <= block.right; });
}

} // namespace

Result<void> Rack::allocate(std::size_t records) {
  m_records = TRY(try_make_unique<Record[]>("RACK segment records", records));
  m_capacity = records;
  forget_all();
  return {};
}

void Rack::forget_all() { m_begin = m_end = 0; }

bool Rack::make_room() {
  if (m_end < m_capacity) return true;
  if (m_begin == 0) return false;
  std::move(&m_records[m_begin], &m_records[m_end], &m_records[0]);
  m_end -= m_begin;
  m_begin = 0;
  return true;
}

void Rack::on_sent(SequenceNumber begin, SequenceNumber end, Instant now) {
  if (!allocated() || !(begin < end)) return;
  if (m_overflowed) return;
  bool fresh = m_begin == m_end || m_records[m_end - 1].end <= begin;
  if (fresh) {
    if (!make_room()) {
      // Judging only part of the flight could mark the rest wrongly: stop until it drains.
      m_overflowed = true;
      forget_all();
      return;
    }
    m_records[m_end++] = Record{begin, end, now};
    return;
  }
  // A retransmission: the records it covers, cut at its edges where room allows
  // (otherwise a whole record takes the new time, which only delays its verdict).
  for (std::size_t i = m_begin; i < m_end; ++i) {
    Record& record = m_records[i];
    if (record.end <= begin) continue;
    if (end <= record.begin) break;
    for (SequenceNumber cut : {begin, end}) {
      if (!(m_records[i].begin < cut && cut < m_records[i].end)) continue;
      std::size_t offset = i - m_begin;
      if (!make_room()) break;
      i = m_begin + offset;
      std::move_backward(&m_records[i], &m_records[m_end], &m_records[m_end + 1]);
      ++m_end;
      m_records[i + 1] = m_records[i];
      m_records[i].end = cut;
      m_records[i + 1].begin = cut;
      if (cut == begin) ++i; // the part from `begin` on is the one resent
    }
    Record& resent = m_records[i];
    resent.sent = now;
    resent.retransmitted = true;
    resent.lost = false;
  }
}

void Rack::on_delivered(const Record& record, Instant now) {
  // RFC 8985 §6.2 step 2: an ambiguous retransmission gives no sample when its
  // RTT is below the minimum (the original, not the retransmission, arrived).
  Duration rtt = now - record.sent;
  if (record.retransmitted && rtt < m_min_rtt) return;
  m_rtt = rtt;
  if (!record.retransmitted) m_min_rtt = std::min(m_min_rtt, rtt);
  if (!m_delivered || sent_after(record.sent, record.end, m_xmit_ts, m_end_seq)) {
    m_xmit_ts = record.sent;
    m_end_seq = record.end;
  }
  // Step 3: a never-retransmitted segment delivered below the highest one
  // delivered was reordered.
  if (!m_delivered || record.end > m_fack) m_fack = record.end;
  else if (record.end < m_fack && !record.retransmitted) m_reordering_seen = true;
  m_delivered = true;
}

Rack::Verdict Rack::on_ack(SequenceNumber snd_una, SequenceNumber snd_nxt, std::span<const SackBlock> sacked,
                           bool dsack, bool in_recovery, Duration srtt, Instant now) {
  if (m_overflowed && m_begin == m_end && snd_una == snd_nxt) m_overflowed = false;
  if (!tracking()) return {};
  // Newly delivered segments, ascending (RFC 8985 §6.2 steps 2-3).
  while (m_begin < m_end && m_records[m_begin].end <= snd_una) {
    const Record& record = m_records[m_begin++];
    if (!record.sacked) on_delivered(record, now);
  }
  for (std::size_t i = m_begin; i < m_end; ++i) {
    Record& record = m_records[i];
    if (record.sacked || !covered_by(sacked, record.begin, record.end)) continue;
    record.sacked = true;
    on_delivered(record, now);
  }
  // Step 4's D-SACK rounds: at most one widening per round trip.
  if (m_dsack_round && snd_una >= *m_dsack_round) m_dsack_round.reset();
  if (dsack) {
    // A D-SACK shows the network reorders (or duplicates): the reordering
    // window applies from now on, also in recovery (as Linux does).
    m_reordering_seen = true;
    if (!m_dsack_round) {
      m_dsack_round = snd_nxt;
      ++m_reo_wnd_mult;
      m_reo_wnd_persist = reo_wnd_persist_recoveries;
    }
  }
  return detect_loss(snd_una, in_recovery, srtt, now);
}

Duration Rack::reordering_window(bool in_recovery, Duration srtt) const {
  if (!m_reordering_seen) {
    if (in_recovery) return {};
    std::size_t sacked = 0;
    for (std::size_t i = m_begin; i < m_end; ++i) sacked += m_records[i].sacked ? 1 : 0;
    if (sacked >= dup_thresh) return {};
  }
  if (m_min_rtt == Duration::max()) return {};
  Duration window = m_reo_wnd_mult * m_min_rtt / 4;
  // Capped by SRTT, once there is one.
  return srtt > Duration{} ? std::min(window, srtt) : window;
}

Rack::Verdict Rack::detect_loss(SequenceNumber snd_una, bool in_recovery, Duration srtt, Instant now) {
  if (!tracking()) return {};
  Verdict verdict;
  verdict.lost_end = snd_una;
  if (!m_delivered) return verdict;
  Duration reo_wnd = reordering_window(in_recovery, srtt);
  for (std::size_t i = m_begin; i < m_end; ++i) {
    Record& record = m_records[i];
    if (record.sacked) continue;
    if (!record.lost && sent_after(m_xmit_ts, m_end_seq, record.sent, record.end)) {
      Duration remaining = record.sent + m_rtt + reo_wnd - now;
      if (remaining <= Duration{}) {
        record.lost = true;
        verdict.new_losses = true;
        if (record.retransmitted && !verdict.lost_retransmission) verdict.lost_retransmission = record.begin;
      } else {
        verdict.reorder_timeout = std::max(verdict.reorder_timeout, remaining);
      }
    }
    if (record.lost) verdict.lost_end = seq_max(*verdict.lost_end, record.end);
  }
  return verdict;
}

void Rack::on_retransmit_timeout() {
  // Everything in flight goes again from SND.UNA: those records take their new
  // times as the go-back-N retransmissions leave.
  for (std::size_t i = m_begin; i < m_end; ++i) m_records[i].lost = false;
}

void Rack::on_recovery_end() {
  if (m_reo_wnd_persist == 0) return;
  --m_reo_wnd_persist;
  if (m_reo_wnd_persist == 0) m_reo_wnd_mult = 1;
}

} // namespace morgana::net
