#pragma once

// A TLS connection over a transport net::Stream, driven by a BearSSL engine
// ("I/O with the engine": records flow between the engine's buffers and the
// transport; application data between the engine and read()/write()).
//
// - The handshake runs inside the first read() or write() (or handshake()),
//   bounded by that call's deadline.
// - read() returns 0 after the peer's close_notify. A transport that ends
//   without close_notify (truncation, RFC 5246 §7.2.1) is Errc::closed with
//   context "TLS: peer closed without close_notify (truncated)"; after our own
//   shutdown() it is a plain end of stream (0), as many peers close that way.
// - A failed engine reports bearssl_error() (errors.h): the Errc and a
//   sentence naming the BearSSL code.
// - shutdown() queues close_notify, writes it in the background and then
//   half-closes the transport; the peer's close_notify then ends read().
//   TLS 1.2 has no half-close (RFC 5246 §7.2.1): application data that
//   arrives after our close_notify is discarded, so read what you expect first.
// - A read and a write may run at the same time (from two coroutines). A read
//   that times out leaves the connection usable; a write that times out (or
//   any transport failure) ends it, since a partial record cannot be resumed.
// - Memory per connection: the engine context (4.1 KiB for a server; 3.7 KiB
//   plus 3.2 KiB of X.509 validator for a client) and the I/O buffer:
//   BR_SSL_BUFSIZE_BIDI (33178 bytes) by default, full duplex;
//   BR_SSL_BUFSIZE_MONO (16709 bytes) works half-duplex (a write then waits
//   while received data is unread). Both are allocated fallibly
//   (docs/DESIGN-memory.md): a connection without memory is refused with
//   Errc::no_memory, never the image stopped.

#include <bearssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "morgana/core/event_loop.h"
#include "morgana/net/network.h"

namespace morgana::tls {

class Stream : public net::Stream {
public:
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() override;

  [[nodiscard]] Task<Result<std::size_t>> read(MutableBytes out, Instant deadline = far_future) override;
  [[nodiscard]] Task<Result<void>> write(Bytes data, Instant deadline = far_future) override;
  [[nodiscard]] Task<Result<void>> write_shared(Bytes head, SharedBytes body, Instant deadline = far_future) override;
  [[nodiscard]] Result<void> shutdown() override;
  void abort() override;
  void set_nodelay(bool nodelay) override { m_transport->set_nodelay(nodelay); }
  void set_keepalive(std::optional<Duration> idle) override { m_transport->set_keepalive(idle); }
  [[nodiscard]] net::Endpoint local() const override { return m_transport->local(); }
  [[nodiscard]] net::Endpoint remote() const override { return m_transport->remote(); }

  // Runs the handshake to its end now.
  [[nodiscard]] Task<Result<void>> handshake(Instant deadline = far_future);
  [[nodiscard]] bool handshake_done() const { return m_handshake_done; }
  // The ALPN protocol both sides chose (RFC 7301), empty when none.
  [[nodiscard]] std::string_view selected_protocol() const;
  // The SNI name (RFC 6066 §3): the one the client asked for.
  [[nodiscard]] std::string_view server_name() const;
  // The negotiated cipher suite (e.g. BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), 0 before the handshake.
  [[nodiscard]] std::uint16_t cipher_suite() const;
  // Whether the handshake resumed an earlier session (RFC 5246 §7.3).
  [[nodiscard]] bool resumed() const { return m_resumed; }
  // The BearSSL error the engine failed with (BR_ERR_OK while it has not).
  [[nodiscard]] int last_error() const { return br_ssl_engine_last_error(m_engine); }

protected:
  // `engine` lives in the derived object; prepare_engine() gives it the rest.
  Stream(br_ssl_engine_context& engine, std::size_t buffer_size);
  // Takes the transport and gives the engine its buffer (`buffer_size` bytes;
  // full duplex from BR_SSL_BUFSIZE_BIDI up) and 32 bytes from random::fill.
  // Call once, before the engine's reset. Errc::no_memory or Errc::no_entropy
  // end the stream as fail_start() does.
  [[nodiscard]] Result<void> prepare_engine(std::unique_ptr<net::Stream> transport);
  // Ends a stream that could not start (e.g. a reset that failed): the
  // transport is aborted and `error` returned, for the caller to pass on.
  std::unexpected<Error> fail_start(Error error);
  // Derived destructors call this first: queues close_notify while the engine still exists.
  void close_on_destroy();

  virtual void on_handshake_done() = 0;
  virtual void on_handshake_failed(const Error& error) = 0;

  void set_resumed(bool resumed) { m_resumed = resumed; }
  br_ssl_engine_context& engine() { return *m_engine; }

private:
  // Runs the engine until its state has one of `wanted` (BR_SSL_SENDAPP,
  // BR_SSL_RECVAPP) or BR_SSL_CLOSED; returns that state.
  Task<Result<unsigned>> run_until(unsigned wanted, Instant deadline);
  // Copies `data` into the engine as application data (full records go out
  // as the buffer fills); the caller flushes the rest.
  Task<Result<void>> fill(Bytes data, Instant deadline);
  // Writes out every pending record.
  Task<Result<void>> drain(Instant deadline);
  Task<Result<void>> send_records(Instant deadline);
  Task<Result<void>> receive_records(Instant deadline);
  Task<void> send_close_notify();
  // What a closed engine means for read (0 or an error) and for write (an error).
  [[nodiscard]] Error closed_error() const;
  void note_state(unsigned state);
  void fail_transport(const Error& error);

  std::unique_ptr<net::Stream> m_transport;
  br_ssl_engine_context* m_engine;
  std::unique_ptr<unsigned char[]> m_buffer;
  std::size_t m_buffer_size;
  std::optional<Error> m_failure; // the transport failed, or the stream could not start
  bool m_sending = false;         // a coroutine is writing records to the transport
  bool m_receiving = false;       // a coroutine is reading records from the transport
  bool m_handshake_done = false;
  bool m_handshake_failed = false;
  bool m_resumed = false;
  bool m_shutdown = false;
  bool m_clean_end = false; // the transport ended after our close_notify
  WaitQueue m_progress;     // woken whenever records move or the stream fails
  Task<void> m_closer;      // last: destroyed before what it uses
};

} // namespace morgana::tls
