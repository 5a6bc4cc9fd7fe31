#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/tcp_congestion.h"
#include "morgana/net/tcp_header.h"
#include "morgana/net/tcp_options.h"
#include "morgana/net/tcp_rack.h"
#include "morgana/net/tcp_receive_buffer.h"
#include "morgana/net/tcp_rtt.h"
#include "morgana/net/tcp_sack.h"
#include "morgana/net/tcp_send_queue.h"

namespace morgana::net {

extern log::Source tcp_log;

class Tcp;
class TcpListener;

enum class TcpState : std::uint8_t {
  closed,
  syn_sent,
  syn_received,
  established,
  fin_wait_1,
  fin_wait_2,
  close_wait,
  closing,
  last_ack,
  time_wait,
};
std::string_view state_name(TcpState state);

// What a write leaves the connection with: open for more, or ending with a FIN.
enum class WriteEnd : std::uint8_t { more, fin };

struct TcpStats {
  std::uint64_t segments_sent = 0;
  std::uint64_t segments_received = 0;
  std::uint64_t bytes_sent = 0;     // application bytes, first transmissions
  std::uint64_t bytes_received = 0; // application bytes delivered in order
  std::uint64_t retransmits = 0;    // segments sent again, for any reason
  std::uint64_t fast_retransmits = 0;
  std::uint64_t timeouts = 0;
  Duration srtt{};
  Duration rto{};
  std::uint32_t cwnd = 0;
  std::uint32_t ssthresh = 0;
  std::uint32_t send_mss = 0;
};

// One connection's TCB (RFC 9293 §3.3.1) and its behaviour, one concern a file
// as BSD and lwIP split it: opening, state changes and ending
// (tcp_connection.cpp); the "segment arrives" steps of RFC 9293 §3.10.7 in
// order (tcp_input.cpp); output with Nagle, the windows and SACK recovery
// (tcp_output.cpp); the timers (retransmission, delayed ACK, persist,
// keep-alive, TIME-WAIT), driven by one coroutine per connection
// (tcp_timers.cpp); and the application's side (tcp_stream.cpp).
//
// Owned by Tcp. The application holds it through a TcpStream; Tcp frees it
// once it is closed and the stream has let go.
class TcpConnection {
public:
  TcpConnection(Tcp& tcp, Endpoint local, Endpoint remote, TcpConnectionOptions options);
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;
  ~TcpConnection();

  // Active open (RFC 9293 §3.10.1): sends SYN, enters SYN-SENT.
  void open_active();
  // Passive open from a SYN that reached a listener, with the ISS Tcp chose:
  // one of the listener's half-open connections in SYN-RECEIVED, sends SYN-ACK.
  void open_passive(const TcpHeader& syn, TcpListener& listener, SequenceNumber iss);
  // From the ACK that returned a valid SYN cookie: the TCB as it was in
  // SYN-RECEIVED, with the cookie's MSS and no other options; the caller then
  // passes the ACK to segment_arrives.
  void open_from_cookie(const TcpHeader& ack, std::uint16_t mss, TcpListener& listener);
  // RFC 9293 §3.10.7.3 / §3.10.7.4.
  void segment_arrives(const TcpHeader& header, Bytes payload);
  // In TIME-WAIT: whether `syn` (SYN alone) may open a new incarnation of this
  // connection (RFC 6191 §2). Tcp then ends this one with end_time_wait().
  [[nodiscard]] bool admits_new_incarnation(const TcpHeader& syn) const;
  void end_time_wait() { connection_done(); }

  // Application side (TcpStream calls these).
  // Waits until ESTABLISHED (or a later state), or fails with the reason.
  [[nodiscard]] Task<Result<void>> wait_established(Instant deadline);
  // Up to out.size() bytes; 0 at end of stream; waits for data.
  [[nodiscard]] Task<Result<std::size_t>> read(MutableBytes out, Instant deadline);
  // All of `head` (copied) and then of `body` (by reference, see TcpSendQueue),
  // waiting for buffer space as needed; output runs once both are queued, so
  // the head leaves with the start of the body. With WriteEnd::fin the FIN is
  // queued too before that output (shutdown()), so it rides on the last segment.
  [[nodiscard]] Task<Result<void>> write(Bytes head, SharedBytes body, Instant deadline, WriteEnd end = WriteEnd::more);
  // Sends FIN once queued data is out (RFC 9293 §3.10.4); reads continue.
  [[nodiscard]] Result<void> shutdown();
  // Sends RST and forgets the connection (RFC 9293 §3.10.5).
  void abort();
  // The application let go: close gracefully, or abort if unread data remains (RFC 2525 §2.17).
  void release();

  [[nodiscard]] TcpState state() const { return m_state; }
  [[nodiscard]] Endpoint local() const { return m_local; }
  [[nodiscard]] Endpoint remote() const { return m_remote; }
  [[nodiscard]] TcpStats stats() const;
  // SND.MAX: one past the highest sequence number ever sent.
  [[nodiscard]] SequenceNumber send_max() const { return m_snd.max; }
  // Bytes held by the send queue and the receive ring (freed once the connection
  // no longer needs them); bodies the send queue references are not counted.
  [[nodiscard]] std::size_t buffer_bytes() const { return m_send_buffer.memory() + m_receive_buffer.capacity(); }
  [[nodiscard]] bool released() const { return m_released; }
  [[nodiscard]] TcpListener* listener() const { return m_listener; }
  void forget_listener() { m_listener = nullptr; }
  // accept() handed the connection to the application: the listener's no more.
  void on_accepted() { m_released = false; }
  void set_nodelay(bool nodelay) { m_options.nodelay = nodelay; }
  void set_keepalive(std::optional<Duration> idle);
  // Until established: when the listener's half-open queue overflowed.
  [[nodiscard]] Instant created() const { return m_created; }

private:
  // The steps of RFC 9293 §3.10.7; check_ack returns false when the segment is done with.
  void syn_sent_arrives(const TcpHeader& header, Bytes payload);
  [[nodiscard]] bool acceptable(const TcpHeader& header, std::size_t length) const;
  void check_rst(const TcpHeader& header);
  [[nodiscard]] bool check_ack(const TcpHeader& header, std::size_t length);
  void process_text(const TcpHeader& header, Bytes payload);
  void process_fin();
  void on_new_ack(const TcpHeader& header);
  void update_window(const TcpHeader& header);
  // The initial sequence numbers: ours (SND.UNA = SND.NXT = SND.MAX = ISS, and
  // the timestamp clock's offset), the peer's (RCV.NXT = IRS + 1).
  void start_send_sequence(SequenceNumber iss);
  void start_receive_sequence(SequenceNumber irs);
  // Sends the SYN or SYN-ACK from ISS and starts the timers.
  void send_first_syn(std::uint8_t flags);
  void take_peer_options(const TcpHeader& syn);
  [[nodiscard]] Result<void> allocate_buffers();
  // Frees the rings and SACK state once data transfer is over in that direction
  // (TIME-WAIT lasts 2 MSL, a closed connection as long as its stream).
  void free_finished_buffers();

  // Output.
  void output();
  void send_segment(SequenceNumber sequence, std::uint8_t flags, std::size_t data_length);
  // A pure ACK carries SND.MAX, not SND.NXT: after a timeout rewinds SND.NXT
  // for go-back-N, an ACK numbered from there would be below the peer's
  // RCV.NXT, and Linux drops such "old" segments whole, ACK field and all
  // (BSD's tcp_output does the same for this reason).
  void send_ack() { send_segment(m_snd.max, tcp_flag::ack, 0); }
  // Sends again up to `limit` bytes of sequence space from `sequence` (data,
  // and our FIN if it falls there); returns the sequence space covered.
  std::uint32_t retransmit(SequenceNumber sequence, std::uint32_t limit);
  void retransmit_first_unacked();
  // RFC 6675 §5 step C: sends by NextSeg while cwnd - pipe allows.
  void output_in_sack_recovery();
  void send_challenge_ack();
  void send_rst_for(const TcpHeader& header, std::size_t length);
  void schedule_ack(bool immediately);
  [[nodiscard]] std::uint16_t window_to_advertise();
  // The receive buffer's free space past RCV.NXT (its configured size until it exists).
  [[nodiscard]] std::size_t receive_space() const;
  // How far past RCV.NXT the right edge we last advertised lies (0 when not past it).
  [[nodiscard]] std::size_t offered_window() const;
  [[nodiscard]] std::uint32_t timestamp_now() const;

  // Loss detection beyond duplicate ACKs (tcp_loss_detection.cpp): RACK-TLP
  // (RFC 8985), D-SACK (RFC 2883) both ways, and undo of reductions that
  // D-SACK or timestamps (RFC 3522) show were spurious.
  // From send_segment: [sequence, sequence + length) of data or FIN went out.
  void on_data_sent(SequenceNumber sequence, std::uint32_t length);
  // From check_ack, once SND.UNA and the scoreboard took the ACK.
  void detect_losses(const TcpHeader& header, bool advanced, bool was_in_recovery);
  void apply_rack_verdict(const Rack::Verdict& verdict, Instant now);
  void on_dsack(SackBlock block);
  void note_retransmission(SequenceNumber begin, SequenceNumber end);
  void undo_spurious_reduction();
  void process_probe_ack(const TcpHeader& header, bool dsack, bool advanced);
  // Arms the PTO (RFC 8985 §7.2) when a probe may be sent; `restart` moves a running one.
  void schedule_loss_probe(bool restart);
  [[nodiscard]] bool loss_probe_allowed() const;
  void on_loss_probe_timeout();
  void on_reorder_timeout();
  void reset_loss_detection_on_timeout();
  // Receiver side: a segment arrived whose data (partly) was already here.
  void note_duplicate(SequenceNumber sequence, std::size_t length);
  // The SACK blocks for an outgoing ACK: a pending D-SACK first (RFC 2883 §4).
  std::size_t sack_blocks_to_send(SackBlock* out, std::size_t count);

  // State changes and timers.
  void set_state(TcpState state);
  // ESTABLISHED or CLOSE-WAIT: the FIN follows the queued data (FIN-WAIT-1 or
  // LAST-ACK); the next output() sends it.
  void queue_fin();
  void enter_time_wait();
  void fail_with(Errc reason);
  void connection_done();
  void on_retransmit_timeout();
  void on_persist_timeout();
  void on_keepalive_timeout();
  // An orphaned connection in FIN-WAIT-2 waits a while for the peer's FIN, not forever.
  void start_fin_wait_2_timeout();
  void wake_timer();
  [[nodiscard]] Instant next_deadline() const;
  void start_timers();
  Task<void> run_timers();

  [[nodiscard]] std::uint32_t unsent_bytes() const;
  [[nodiscard]] std::uint32_t bytes_in_flight() const { return static_cast<std::uint32_t>(m_snd.max - m_snd.una); }
  [[nodiscard]] bool fin_acked() const { return m_fin_sequence && m_snd.una > *m_fin_sequence; }
  [[nodiscard]] bool synchronized() const;

  Tcp& m_tcp;
  Endpoint m_local;
  Endpoint m_remote;
  TcpConnectionOptions m_options;
  TcpListener* m_listener = nullptr;
  TcpState m_state = TcpState::closed;
  Instant m_created;
  bool m_released = false;
  std::optional<Errc> m_error; // why the connection failed, once it has

  // Send sequence variables (RFC 9293 §3.3.1), with SND.MAX, one past the
  // highest ever sent, and the peer's window shift (RFC 7323 §2.2).
  struct SendSequence {
    SequenceNumber iss;
    SequenceNumber una;
    SequenceNumber nxt;
    SequenceNumber max;
    std::uint32_t wnd = 0;     // scaled
    std::uint32_t max_wnd = 0; // the largest the peer offered
    SequenceNumber wl1;
    SequenceNumber wl2;
    std::uint8_t wscale = 0;
  };
  SendSequence m_snd;
  bool m_window_scaling = false;
  std::uint32_t m_send_mss = 536;
  std::optional<SequenceNumber> m_fin_sequence; // our FIN, once the application shut down
  TcpSendQueue m_send_buffer;                   // bytes from SND.UNA on

  // Receive sequence variables (RFC 9293 §3.3.1); RCV.NXT and RCV.WND are
  // m_receive_buffer's.
  struct ReceiveSequence {
    SequenceNumber irs;
    std::uint8_t wscale = 0; // our window shift
    SequenceNumber adv_edge; // the right edge we advertised (RFC 9293 §3.8.6.2.2)
  };
  ReceiveSequence m_rcv;
  TcpReceiveBuffer m_receive_buffer;
  std::optional<SequenceNumber> m_peer_fin; // the peer's FIN, held until in order
  bool m_peer_fin_received = false;

  // Options negotiated on the handshake.
  bool m_sack_permitted = false;
  bool m_timestamps = false;
  std::uint32_t m_ts_recent = 0;
  SequenceNumber m_last_ack_sent;
  std::uint32_t m_ts_offset = 0;

  // Estimators and loss recovery.
  RttEstimator m_rtt;
  RetransmissionTimer m_retransmit_timer;
  std::optional<NewReno> m_congestion;
  std::optional<SackScoreboard> m_scoreboard; // when SACK was negotiated (RFC 6675)
  SequenceNumber m_high_rxt;                  // HighRxt during SACK recovery
  Rack m_rack;                                // when SACK was negotiated
  // The Tail Loss Probe episode (RFC 8985 §7): TLP.end_seq while one is open,
  // and the range the last probe resent (its D-SACK is not the recovery's).
  struct LossProbe {
    std::optional<SequenceNumber> end_seq;
    SackBlock resent;
    bool sending = false;
  };
  LossProbe m_probe;
  // The retransmissions of the latest reduction, for undoing it: all of them
  // reported duplicate by D-SACK, or (Eifel, RFC 3522) the ACK covering them
  // echoes a timestamp older than the first.
  struct UndoEpisode {
    bool active = false;
    std::uint32_t reduction = 0; // NewReno::reductions() it belongs to
    SequenceNumber low;
    SequenceNumber high;
    std::uint32_t undsacked = 0; // retransmitted bytes not yet reported duplicate
    std::uint32_t first_tsval = 0;
    bool eifel_pending = false;
  };
  UndoEpisode m_undo;
  std::optional<SackBlock> m_dsack_to_send;     // receiver side, on the next ACK
  std::optional<SequenceNumber> m_rtt_sequence; // timed segment (Karn) when timestamps are off
  Instant m_rtt_started;
  std::uint32_t m_retries = 0;

  // The timers besides retransmission, far_future when off; run_timers waits
  // for the earliest of them all (m_armed_deadline).
  struct TimerDeadlines {
    Instant delayed_ack = far_future;
    Instant persist = far_future;
    Instant keepalive = far_future;
    Instant time_wait = far_future;  // also an orphan's FIN-WAIT-2 timeout
    Instant reorder = far_future;    // RACK's reordering timer
    Instant loss_probe = far_future; // TLP's PTO
  };
  TimerDeadlines m_deadlines;
  Instant m_armed_deadline = far_future;
  int m_unacked_segments = 0; // full segments received since our last ACK
  bool m_ack_now = false;
  int m_keepalive_probes = 0;
  Duration m_persist_backoff{};
  Instant m_last_received;

  TcpStats m_stats;
  WaitQueue m_readers;
  WaitQueue m_writers;
  WaitQueue m_state_waiters;
  WaitQueue m_timer_wake;
  Task<void> m_timer_task;
};

} // namespace morgana::net
