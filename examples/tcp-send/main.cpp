// tcp-send: a TCP client for tests. Connects to --to=ADDR:PORT, writes --bytes=N
// pseudo-random bytes made from --seed, half-closes, reads until the peer
// closes, and logs one line with the byte counts and FNV-1a 64-bit hashes of
// both directions. Exit status 0 when all of that worked, 1 otherwise (refused,
// no answer within --connect-timeout, no progress within --idle-timeout), 2
// without --to or with too many --bytes.
// --wait-before-exit keeps the stack running after the close, so that TIME-WAIT
// can end before the counters are printed.
//
//   tcp-send --net=tap0 --ipv4=10.0.0.2/24 --to=10.0.0.1:5001 --bytes=1048576 --seed=7
//
// The bytes are the ChaCha20 keystream (RFC 8439 §2.3, block counter from 0,
// nonce 0) under a key that is the seed as 8 little-endian bytes followed by
// 24 zero bytes, so a peer can regenerate them, e.g. for seed 7:
//   openssl enc -chacha20 -K 0700000000000000$(printf '0%.0s' {1..48}) -iv $(printf '0%.0s' {1..32}) \
//     -in /dev/zero | head -c 1048576

#include <array>
#include <cstdint>

#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "morgana/net/network.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

constexpr std::size_t chunk_size = 16384;

// FNV-1a, 64 bits.
class Fnv64 {
public:
  void add(Bytes data) {
    for (auto byte : data) m_value = (m_value ^ std::to_integer<std::uint64_t>(byte)) * 0x100000001b3;
  }
  [[nodiscard]] std::uint64_t value() const { return m_value; }

private:
  std::uint64_t m_value = 0xcbf29ce484222325;
};

// The deterministic bytes to send: the ChaCha20 keystream under the seed.
class Keystream {
public:
  explicit Keystream(std::uint64_t seed) {
    m_key[0] = static_cast<std::uint32_t>(seed);
    m_key[1] = static_cast<std::uint32_t>(seed >> 32);
  }
  // Fills `out` (a multiple of 64 bytes) with the next blocks.
  void next(std::span<std::byte, chunk_size> out) {
    static_assert(chunk_size % 64 == 0);
    for (std::size_t done = 0; done < out.size(); done += 64) {
      std::uint8_t block[64];
      random::chacha20_block(m_key, m_counter++, m_nonce, block);
      for (std::size_t i = 0; i < 64; ++i) out[done + i] = std::byte{block[i]};
    }
  }

private:
  std::uint32_t m_key[8] = {};
  std::uint32_t m_nonce[3] = {};
  std::uint32_t m_counter = 0;
};

// The transfer's state shared by the writer and the reader running beside it.
struct Transfer {
  Duration idle_timeout;
  // The last time either direction moved: the connection is idle only when neither does.
  Instant progress = MonotonicClock::now();
  std::uint64_t received_bytes = 0;
  Fnv64 received_hash;
  Result<void> received_outcome;
  bool reader_done = false;
  WaitQueue reader_finished;

  [[nodiscard]] Instant idle_deadline() const { return progress + idle_timeout; }
};

// Reads until the end of the stream; runs beside the writer so that a peer
// that echoes never waits on us.
Task<void> read_all(net::Stream& stream, Transfer& transfer) {
  std::array<std::byte, chunk_size> buffer;
  while (true) {
    auto count = co_await stream.read(buffer, transfer.idle_deadline());
    if (!count && count.error() == Errc::timed_out && MonotonicClock::now() < transfer.idle_deadline()) continue;
    if (!count) {
      transfer.received_outcome = std::unexpected(count.error());
      break;
    }
    if (*count == 0) break;
    transfer.progress = MonotonicClock::now();
    transfer.received_hash.add(std::span(buffer).first(*count));
    transfer.received_bytes += *count;
  }
  transfer.reader_done = true;
  transfer.reader_finished.notify_all();
}

Task<Result<void>> write_all(net::Stream& stream, std::uint64_t bytes, std::uint64_t seed, Fnv64& hash,
                             Transfer& transfer) {
  Keystream keystream(seed);
  std::array<std::byte, chunk_size> buffer;
  for (std::uint64_t sent = 0; sent < bytes;) {
    keystream.next(buffer);
    auto chunk = std::span(buffer).first(static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, bytes - sent)));
    CO_TRY(co_await stream.write(chunk, transfer.idle_deadline()));
    transfer.progress = MonotonicClock::now();
    hash.add(chunk);
    sent += chunk.size();
  }
  co_return stream.shutdown();
}

// Why a connection did not open, in the words tests/system/tcp_connect_test.py looks for.
std::string_view connect_failure(const Error& error) {
  if (error == Errc::closed) return "connection refused";
  if (error == Errc::timed_out) return "no answer in time";
  return "failed";
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  if (!settings.to) co_return fail(Errc::invalid_argument, "--to=ADDRESS:PORT is required");
  auto destination = *settings.to;
  // The keystream's 32-bit block counter covers 256 GiB.
  if (settings.bytes > (std::uint64_t{1} << 38)) co_return fail(Errc::invalid_argument, "--bytes is over 256 GiB");
  auto& network = *CO_TRY(co_await context.network());
  auto stream = co_await network.tcp_connect(destination, MonotonicClock::now() + settings.connect_timeout);
  if (!stream) {
    log.error("cannot connect to {}: {} ({})", destination, connect_failure(stream.error()), stream.error());
    co_return std::unexpected(stream.error());
  }
  log.info("connected {} -> {}, sending {} bytes (seed {})", (*stream)->local(), destination, settings.bytes,
           settings.seed);

  Transfer transfer{.idle_timeout = settings.idle_timeout};
  loop().spawn(read_all(**stream, transfer));
  Fnv64 sent_hash;
  auto written = co_await write_all(**stream, settings.bytes, settings.seed, sent_hash, transfer);
  // On a failed write the reader must not outlive the stream: reset, then wait for it.
  if (!written) (*stream)->abort();
  while (!transfer.reader_done) (void)co_await transfer.reader_finished.wait();

  if (!written) {
    log.error("sending to {} failed: {}", destination, written.error());
    co_return written;
  }
  if (!transfer.received_outcome) {
    log.error("receiving from {} failed after {} bytes: {}", destination, transfer.received_bytes,
              transfer.received_outcome.error());
    co_return transfer.received_outcome;
  }
  log.info("sent {} bytes (fnv64 {}), received {} bytes (fnv64 {})", settings.bytes, Hex{sent_hash.value(), 16},
           transfer.received_bytes, Hex{transfer.received_hash.value(), 16});
  stream->reset();
  // The connection closes in the background (TIME-WAIT when we closed first).
  if (settings.wait_before_exit > Duration::zero()) (void)co_await sleep_for(settings.wait_before_exit);
  co_return Result<void>{};
}
