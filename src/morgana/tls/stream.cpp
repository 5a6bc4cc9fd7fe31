#include "morgana/tls/stream.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/memory.h"
#include "morgana/core/random.h"
#include "morgana/tls/errors.h"

namespace morgana::tls {

Stream::Stream(br_ssl_engine_context& engine, std::size_t buffer_size)
    : m_engine(&engine), m_buffer_size(buffer_size) {}

Stream::~Stream() = default;

Result<void> Stream::prepare_engine(std::unique_ptr<net::Stream> transport) {
  m_transport = std::move(transport);
  auto buffer = try_make_unique<unsigned char[]>("TLS: no memory for the connection's buffer", m_buffer_size);
  if (!buffer) return fail_start(buffer.error());
  m_buffer = std::move(*buffer);
  br_ssl_engine_set_buffer(m_engine, m_buffer.get(), m_buffer_size, m_buffer_size >= BR_SSL_BUFSIZE_BIDI ? 1 : 0);
  std::byte seed[32];
  if (auto filled = random::fill(seed); !filled) {
    return fail_start(Error{Errc::no_entropy, "TLS needs entropy: random::fill failed"});
  }
  // Our random::fill is the only seed: BearSSL's own OS seeder (open/read of
  // /dev/urandom) does not exist on every target and would make fuzzing
  // nondeterministic. The engine reads rng_os_rand_done before seeding
  // (engine.c, br_ssl_engine_init_rand). The HMAC_DRBG is instantiated with
  // the seed as its entropy input and marked seeded (rng_init_done 2, as
  // bearssl_ssl.h documents the field): br_ssl_engine_inject_entropy would
  // instantiate it without entropy, then reseed, one HMAC_DRBG update more
  // (about 32k instructions per connection). SHA-256 is what the engine
  // itself would pick (engine.c, rng_init).
  br_hmac_drbg_init(&m_engine->rng, &br_sha256_vtable, seed, sizeof seed);
  m_engine->rng_init_done = 2;
  m_engine->rng_os_rand_done = 1;
  std::memset(seed, 0, sizeof seed);
  return {};
}

std::unexpected<Error> Stream::fail_start(Error error) {
  m_failure = error;
  m_handshake_failed = true;
  on_handshake_failed(error);
  m_transport->abort();
  return std::unexpected(error);
}

void Stream::close_on_destroy() {
  if (!m_shutdown && !m_failure) (void)shutdown();
}

std::string_view Stream::selected_protocol() const {
  const char* name = br_ssl_engine_get_selected_protocol(m_engine);
  return name ? std::string_view(name) : std::string_view();
}

std::string_view Stream::server_name() const { return br_ssl_engine_get_server_name(m_engine); }

std::uint16_t Stream::cipher_suite() const { return m_handshake_done ? m_engine->session.cipher_suite : 0; }

Error Stream::closed_error() const {
  int code = br_ssl_engine_last_error(m_engine);
  if (code != BR_ERR_OK) return bearssl_error(code);
  return Error{Errc::closed, "TLS: connection closed"};
}

void Stream::note_state(unsigned state) {
  if (!m_handshake_done && !m_handshake_failed && (state & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
    m_handshake_done = true;
    on_handshake_done();
  }
  if (!m_handshake_done && !m_handshake_failed && (state & BR_SSL_CLOSED)) {
    m_handshake_failed = true;
    on_handshake_failed(closed_error());
  }
}

void Stream::fail_transport(const Error& error) {
  m_failure = error;
  if (!m_handshake_done && !m_handshake_failed) {
    m_handshake_failed = true;
    count_handshake_failure(BR_ERR_IO);
    on_handshake_failed(error);
  }
  m_progress.notify_all();
}

Task<Result<unsigned>> Stream::run_until(unsigned wanted, Instant deadline) {
  for (;;) {
    if (m_failure) co_return std::unexpected(*m_failure);
    unsigned state = br_ssl_engine_current_state(m_engine);
    note_state(state);
    if (state & BR_SSL_CLOSED) co_return state;
    if ((state & BR_SSL_SENDREC) && !m_sending) {
      CO_TRY(co_await send_records(deadline));
      continue;
    }
    if (state & wanted) co_return state;
    if ((state & BR_SSL_RECVREC) && !m_receiving) {
      CO_TRY(co_await receive_records(deadline));
      continue;
    }
    // Another coroutine moves records (or, half-duplex, must first read what
    // arrived): wait for it.
    CO_TRY(co_await m_progress.wait(deadline));
  }
}

Task<Result<void>> Stream::send_records(Instant deadline) {
  m_sending = true;
  for (;;) {
    std::size_t length = 0;
    unsigned char* records = br_ssl_engine_sendrec_buf(m_engine, &length);
    if (length == 0) break;
    // The engine leaves these bytes alone until they are acknowledged.
    auto written = co_await m_transport->write(std::as_bytes(std::span(records, length)), deadline);
    if (!written) {
      m_sending = false;
      fail_transport(written.error());
      co_return std::unexpected(written.error());
    }
    br_ssl_engine_sendrec_ack(m_engine, length);
  }
  m_sending = false;
  m_progress.notify_all();
  co_return Result<void>{};
}

Task<Result<void>> Stream::receive_records(Instant deadline) {
  std::size_t length = 0;
  unsigned char* space = br_ssl_engine_recvrec_buf(m_engine, &length);
  if (length == 0) co_return Result<void>{};
  m_receiving = true;
  auto count = co_await m_transport->read(std::as_writable_bytes(std::span(space, length)), deadline);
  m_receiving = false;
  if (!count) {
    // A read that timed out consumed nothing: the connection stays usable.
    if (count.error() == Errc::timed_out) {
      m_progress.notify_all();
      co_return std::unexpected(count.error());
    }
    fail_transport(count.error());
    co_return std::unexpected(count.error());
  }
  if (*count == 0) {
    m_clean_end = m_shutdown && m_handshake_done;
    Error end = m_clean_end        ? Error{Errc::closed, "TLS: end of stream after our close_notify"}
                : m_handshake_done ? Error{Errc::closed, "TLS: peer closed without close_notify (truncated)"}
                                   : Error{Errc::closed, "TLS: peer closed the connection during the handshake"};
    fail_transport(end);
    co_return std::unexpected(end);
  }
  br_ssl_engine_recvrec_ack(m_engine, *count);
  m_progress.notify_all();
  co_return Result<void>{};
}

Task<Result<void>> Stream::drain(Instant deadline) {
  for (;;) {
    if (m_failure) co_return std::unexpected(*m_failure);
    unsigned state = br_ssl_engine_current_state(m_engine);
    note_state(state);
    if (!(state & BR_SSL_SENDREC)) co_return Result<void>{};
    if (!m_sending) {
      CO_TRY(co_await send_records(deadline));
    } else {
      CO_TRY(co_await m_progress.wait(deadline));
    }
  }
}

Task<Result<void>> Stream::handshake(Instant deadline) {
  auto state = CO_TRY(co_await run_until(BR_SSL_SENDAPP | BR_SSL_RECVAPP, deadline));
  if (state & BR_SSL_CLOSED) co_return std::unexpected(closed_error());
  co_return Result<void>{};
}

Task<Result<std::size_t>> Stream::read(MutableBytes out, Instant deadline) {
  if (out.empty()) co_return 0;
  auto state = co_await run_until(BR_SSL_RECVAPP, deadline);
  if (!state) {
    // Our close_notify went out and the peer just closed TCP: the end of the stream.
    if (m_clean_end) co_return 0;
    co_return std::unexpected(state.error());
  }
  if (*state & BR_SSL_CLOSED) {
    // The peer's close_notify: a clean end of the stream.
    if (br_ssl_engine_last_error(m_engine) == BR_ERR_OK) co_return 0;
    co_return std::unexpected(closed_error());
  }
  std::size_t length = 0;
  unsigned char* data = br_ssl_engine_recvapp_buf(m_engine, &length);
  std::size_t count = std::min(length, out.size());
  std::memcpy(out.data(), data, count);
  br_ssl_engine_recvapp_ack(m_engine, count);
  // Half-duplex buffers: a writer may have waited for this data to be read.
  m_progress.notify_all();
  co_return count;
}

Task<Result<void>> Stream::write(Bytes data, Instant deadline) {
  if (m_shutdown) co_return fail(Errc::closed, "TLS: write after shutdown");
  CO_TRY(co_await fill(data, deadline));
  br_ssl_engine_flush(m_engine, 0);
  co_return co_await drain(deadline);
}

// The engine's buffer is where encryption happens, so the body is copied
// there from its owner's memory and nowhere else; head and body share records.
Task<Result<void>> Stream::write_shared(Bytes head, SharedBytes body, Instant deadline) {
  if (m_shutdown) co_return fail(Errc::closed, "TLS: write after shutdown");
  CO_TRY(co_await fill(head, deadline));
  CO_TRY(co_await fill(body.data, deadline));
  br_ssl_engine_flush(m_engine, 0);
  co_return co_await drain(deadline);
}

Task<Result<void>> Stream::fill(Bytes data, Instant deadline) {
  while (!data.empty()) {
    auto state = CO_TRY(co_await run_until(BR_SSL_SENDAPP, deadline));
    if (state & BR_SSL_CLOSED) co_return std::unexpected(closed_error());
    std::size_t length = 0;
    unsigned char* space = br_ssl_engine_sendapp_buf(m_engine, &length);
    std::size_t count = std::min(length, data.size());
    std::memcpy(space, data.data(), count);
    br_ssl_engine_sendapp_ack(m_engine, count);
    data = data.subspan(count);
  }
  co_return Result<void>{};
}

Result<void> Stream::shutdown() {
  if (m_shutdown) return {};
  m_shutdown = true;
  if (m_failure) return std::unexpected(*m_failure);
  br_ssl_engine_close(m_engine);
  // Runs now as far as the transport takes the record without waiting; the
  // event loop resumes the rest.
  m_closer = send_close_notify();
  m_closer.start();
  return {};
}

Task<void> Stream::send_close_notify() {
  if (auto drained = co_await drain(far_future); drained) (void)m_transport->shutdown();
}

void Stream::abort() {
  m_transport->abort();
  if (!m_failure) fail_transport(Error{Errc::closed, "TLS: connection aborted"});
}

} // namespace morgana::tls
