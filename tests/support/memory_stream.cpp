#include "memory_stream.h"

#include <algorithm>

#include "morgana/core/event_loop.h"
#include "morgana/core/ring_buffer.h"

namespace morgana::test {
namespace {

// One direction: bytes written by one end, read by the other.
struct Pipe {
  RingBuffer bytes;
  bool write_closed = false; // the writer shut down or went away: end of stream
  bool reset = false;        // either end aborted: Errc::closed for both
  bool reader_gone = false;  // nobody will read: writes fail
  WaitQueue readable;
  WaitQueue writable;

  void wake_all() {
    readable.notify_all();
    writable.notify_all();
  }
};

struct Shared {
  Pipe to_server;
  Pipe to_client;
};

class MemoryStream final : public net::Stream {
public:
  MemoryStream(std::shared_ptr<Shared> shared, Pipe& in, Pipe& out, net::Endpoint local, net::Endpoint remote)
      : m_shared(std::move(shared)), m_in(in), m_out(out), m_local(local), m_remote(remote) {}

  ~MemoryStream() override {
    m_out.write_closed = true;
    m_in.reader_gone = true;
    m_in.wake_all();
    m_out.wake_all();
  }

  Task<Result<std::size_t>> read(MutableBytes out, Instant deadline) override {
    while (m_in.bytes.empty() && !m_in.write_closed && !m_in.reset) {
      CO_TRY(co_await m_in.readable.wait(deadline));
    }
    if (m_in.reset) co_return fail(Errc::closed, "connection reset");
    std::size_t count = m_in.bytes.read(out);
    m_in.writable.notify_all();
    co_return count;
  }

  Task<Result<void>> write(Bytes data, Instant deadline) override {
    while (!data.empty()) {
      if (m_out.reset || m_out.reader_gone || m_out.write_closed) co_return fail(Errc::closed, "stream closed");
      std::size_t written = m_out.bytes.write(data);
      data = data.subspan(written);
      m_out.readable.notify_all();
      if (written == 0) CO_TRY(co_await m_out.writable.wait(deadline));
    }
    co_return Result<void>{};
  }

  Result<void> shutdown() override {
    if (m_out.reset) return fail(Errc::closed, "connection reset");
    m_out.write_closed = true;
    m_out.readable.notify_all();
    return {};
  }

  void abort() override {
    m_in.reset = true;
    m_out.reset = true;
    m_in.wake_all();
    m_out.wake_all();
  }

  void set_nodelay(bool) override {}
  void set_keepalive(std::optional<Duration>) override {}
  net::Endpoint local() const override { return m_local; }
  net::Endpoint remote() const override { return m_remote; }

private:
  std::shared_ptr<Shared> m_shared;
  Pipe& m_in;
  Pipe& m_out;
  net::Endpoint m_local;
  net::Endpoint m_remote;
};

} // namespace

StreamPair make_stream_pair(std::size_t capacity, net::Endpoint client_end, net::Endpoint server_end) {
  auto shared = std::make_shared<Shared>();
  MUST(shared->to_server.bytes.allocate(capacity));
  MUST(shared->to_client.bytes.allocate(capacity));
  StreamPair pair;
  pair.client = std::make_unique<MemoryStream>(shared, shared->to_client, shared->to_server, client_end, server_end);
  pair.server = std::make_unique<MemoryStream>(shared, shared->to_server, shared->to_client, server_end, client_end);
  return pair;
}

} // namespace morgana::test
