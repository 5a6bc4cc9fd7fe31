#pragma once

#include <cstdint>
#include <optional>

#include "morgana/core/time.h"
#include "morgana/net/tcp_sequence.h"

namespace morgana::net {

// How losses found by duplicate ACKs are repaired.
enum class LossRecovery : std::uint8_t {
  // RFC 6582: cwnd inflated by duplicate ACKs, each partial ACK retransmits the
  // first unacknowledged segment.
  newreno,
  // RFC 6675: cwnd stays at ssthresh; the caller sends by SackScoreboard's
  // next_seg() while cwnd - pipe >= SMSS (§5 step C).
  sack,
};

// The initial window (RFC 5681 §3.1 or RFC 6928 §2).
enum class InitialWindow : std::uint8_t { rfc5681, rfc6928 };

// What the sender must do now, besides sending what the window allows.
enum class CongestionAction : std::uint8_t {
  none,
  // Retransmit the segment starting at SND.UNA (fast retransmit, RFC 5681
  // §3.2 step 2; a NewReno partial ACK, RFC 6582 §3.2 step 3). With SACK, also
  // set HighRxt to the end of that segment (RFC 6675 §5 step 4.3).
  retransmit_first_unacked,
};

// Congestion control for one connection: slow start and congestion avoidance
// with appropriate byte counting (RFC 5681 §3.1, RFC 3465), fast retransmit and
// fast recovery (RFC 5681 §3.2) with NewReno's partial ACKs (RFC 6582) or
// SACK-based recovery (RFC 6675), limited transmit (RFC 3042) and the restart
// window after idle (RFC 5681 §4.1). All amounts are bytes.
//
// What the caller must do:
// - Call on_ack() for every ACK that advances SND.UNA and on_duplicate_ack()
//   for every duplicate ACK; deciding which an ACK is (RFC 5681 §2's definition,
//   or RFC 6675 §2's when SACK is in use) is the caller's job.
// - Pass snd_nxt as one past the highest sequence number ever sent (SND.MAX,
//   if the caller rewinds SND.NXT after a timeout): FlightSize is
//   snd_nxt - snd_una.
// - Send only what keeps FlightSize within allowed_in_flight() and the peer's
//   window; during SACK recovery, send by next_seg() while cwnd() - pipe >= SMSS.
// - Call on_retransmit_timeout() when the retransmission timer fires, and
//   on_send() before every transmission of data: it notes the time and
//   applies the restart window after idle (RFC 5681 §4.1).
// - Restart the retransmission timer for every ACK of new data, partial ACKs
//   included (RFC 6298 §5.3; RFC 6582 §3.2 step 3 asks for at least the first).
class NewReno {
public:
  static constexpr std::uint32_t dup_thresh = 3; // DupThresh (RFC 5681 §3.2, RFC 6675 §2)

  struct Config {
    std::uint32_t smss = 536; // SMSS (RFC 5681 §2); at least 1
    SequenceNumber iss;       // the initial value of recover (RFC 6582 §3.2 step 1)
    LossRecovery loss_recovery = LossRecovery::newreno;
    // RFC 6928's ten segments by default, as Linux does.
    InitialWindow initial_window = InitialWindow::rfc6928;
    bool restart_after_idle = true; // RFC 5681 §4.1
    // The most data one segment we send carries: SMSS, or with TSO the frame
    // the device cuts (0: SMSS). The receiver acknowledges such a frame as a
    // whole, so slow start counts up to two of them per ACK, not two SMSS.
    std::uint32_t largest_send = 0;
  };

  explicit NewReno(Config config);

  // An ACK advanced SND.UNA by bytes_acked (> 0); snd_una is the new value.
  [[nodiscard]] CongestionAction on_ack(SequenceNumber snd_una, SequenceNumber snd_nxt, std::uint32_t bytes_acked);
  // A duplicate ACK. With LossRecovery::sack, pass first_unacked_lost =
  // SackScoreboard::is_lost(snd_una) after the scoreboard took this ACK's
  // blocks: recovery then starts before the third duplicate (RFC 6675 §5 step B).
  [[nodiscard]] CongestionAction on_duplicate_ack(SequenceNumber snd_una, SequenceNumber snd_nxt,
                                                  bool first_unacked_lost = false);
  // RACK (RFC 8985 §6.2) marked data lost: recovery starts as on the third
  // duplicate ACK (RFC 6675 §5 step 4), unless already in it or the loss is of
  // data sent before the last recovery or timeout (RFC 6582 §3.2 step 2).
  [[nodiscard]] CongestionAction on_loss_detected(SequenceNumber snd_una, SequenceNumber snd_nxt);
  // While on, duplicate ACKs feed limited transmit but never start recovery:
  // RACK decides what is lost and the caller calls on_loss_detected().
  void set_rack(bool on) { m_rack = on; }
  // A Tail Loss Probe repaired a loss (RFC 8985 §7.4): the reduction fast
  // recovery would have made, without entering recovery.
  void on_loss_repaired_by_probe();
  // The last reduction (recovery or timeout) was spurious (RFC 2883 §6, RFC
  // 3522): cwnd and ssthresh go back to what they were before it, and
  // recovery ends; a loss found from here on may start recovery again (as in
  // Linux, unlike RFC 6582's wait for SND.UNA to pass recover). Returns false
  // when there is nothing to undo.
  bool undo_reduction(SequenceNumber snd_una);
  // The retransmission timer fired (RFC 5681 §3.1, RFC 6582 §3.2 step 4):
  // cwnd drops to the loss window (one SMSS) and slow start begins again.
  void on_retransmit_timeout(SequenceNumber snd_una, SequenceNumber snd_nxt);
  // About to send data at `now`; after more than an RTO without sending, cwnd
  // shrinks to the restart window min(IW, cwnd) (RFC 5681 §4.1).
  void on_send(Instant now, Duration rto);
  // The SYN or SYN-ACK was retransmitted: the first window is one SMSS (RFC 5681 §3.1).
  void on_handshake_retransmitted();

  [[nodiscard]] std::uint32_t cwnd() const { return m_cwnd; }
  [[nodiscard]] std::uint32_t ssthresh() const { return m_ssthresh; }
  [[nodiscard]] std::uint32_t smss() const { return m_smss; }
  [[nodiscard]] std::uint32_t initial_window() const { return m_initial_window; }
  [[nodiscard]] bool in_slow_start() const { return m_cwnd < m_ssthresh; }
  [[nodiscard]] bool in_recovery() const { return m_in_recovery; }
  // The highest sequence number sent when recovery began (RFC 6582's recover,
  // RFC 6675's RecoveryPoint); recovery ends when an ACK covers it.
  [[nodiscard]] SequenceNumber recover() const { return m_recover; }
  [[nodiscard]] std::uint32_t duplicate_acks() const { return m_duplicate_acks; }
  // How many reductions (recoveries, timeouts, probe-repaired losses) began
  // from an unreduced window: undo_reduction() reverts the latest.
  [[nodiscard]] std::uint32_t reductions() const { return m_reductions; }
  // The most bytes that may be outstanding now: cwnd, plus one SMSS for each
  // of the first two duplicate ACKs outside recovery (limited transmit,
  // RFC 3042 §2), to be used for new data only.
  [[nodiscard]] std::uint32_t allowed_in_flight() const;

private:
  void enter_recovery(SequenceNumber snd_una, SequenceNumber snd_nxt);
  void exit_recovery(SequenceNumber snd_una, SequenceNumber snd_nxt);
  void save_prior();
  void increase(std::uint32_t bytes_acked);
  [[nodiscard]] std::uint32_t reduced_ssthresh(SequenceNumber snd_una, SequenceNumber snd_nxt) const;

  std::uint32_t m_smss;
  std::uint32_t m_largest_send; // Config::largest_send, at least SMSS
  LossRecovery m_loss_recovery;
  bool m_restart_after_idle;
  std::uint32_t m_initial_window;
  std::uint32_t m_cwnd;
  std::uint32_t m_ssthresh;
  std::uint32_t m_bytes_acked = 0; // RFC 3465 §2.1, in congestion avoidance
  std::uint32_t m_duplicate_acks = 0;
  SequenceNumber m_recover;
  bool m_in_recovery = false;
  // Set by a timeout, cleared by the next ACK of new data: a second timeout
  // for the same data keeps ssthresh (RFC 5681 §3.1).
  bool m_timed_out = false;
  // Slow start after a timeout counts at most one SMSS per ACK (RFC 3465 §2.3).
  bool m_slow_start_after_timeout = false;
  std::optional<Instant> m_last_send;
  bool m_rack = false;
  // cwnd and ssthresh before the reduction undo_reduction() can revert.
  struct Prior {
    std::uint32_t cwnd;
    std::uint32_t ssthresh;
  };
  std::optional<Prior> m_prior;
  std::uint32_t m_reductions = 0;
};

} // namespace morgana::net
