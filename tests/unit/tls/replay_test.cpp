// Client sessions recorded against the replay server replay to the end: the
// premise of the TLS server fuzzer's seeds. With MORGANA_TLS_SEED_DIR set, the
// test also writes the recordings there as seeds:
//   MORGANA_TLS_SEED_DIR=tests/fuzz/corpus/tls_server_fuzz build/hosted-asan/unit_tests --gtest_filter='TlsReplay*'

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "morgana/tls/client.h"
#include "replay_server.h"
#include "tls_test_support.h"

namespace morgana::tls {
namespace {

using test_support::describe;

// Passes everything through, keeping a copy of what is written.
class Recording final : public net::Stream {
public:
  Recording(std::unique_ptr<net::Stream> inner, std::vector<std::byte>& written)
      : m_inner(std::move(inner)), m_written(written) {}
  Task<Result<std::size_t>> read(MutableBytes out, Instant deadline) override { return m_inner->read(out, deadline); }
  Task<Result<void>> write(Bytes data, Instant deadline) override {
    m_written.insert(m_written.end(), data.begin(), data.end());
    return m_inner->write(data, deadline);
  }
  Result<void> shutdown() override { return m_inner->shutdown(); }
  void abort() override { m_inner->abort(); }
  void set_nodelay(bool) override {}
  void set_keepalive(std::optional<Duration>) override {}
  net::Endpoint local() const override { return m_inner->local(); }
  net::Endpoint remote() const override { return m_inner->remote(); }

private:
  std::unique_ptr<net::Stream> m_inner;
  std::vector<std::byte>& m_written;
};

// Records what our client sends in a session: the handshake, `message`, close_notify.
std::vector<std::byte> record_session(std::string_view message, std::string name, std::vector<std::string> alpn,
                                      bool handshake_only) {
  std::unique_ptr<net::Stream> client_end;
  auto server = replay::fresh_server(client_end);
  auto serve = [](Stream& stream) -> Task<void> {
    std::byte chunk[4096];
    while (true) {
      auto count = co_await stream.read(chunk, MonotonicClock::now() + 10s);
      if (!count || *count == 0) break;
    }
  };
  loop().spawn(serve(*server));
  std::vector<std::byte> written;
  ClientConfig config;
  config.trust_anchors = std::make_shared<TrustAnchors>(MUST(TrustAnchors::from_pem(test::certs::ca_pem)));
  config.server_name = std::move(name);
  config.alpn = std::move(alpn);
  auto client = loop().run(connect(std::make_unique<Recording>(std::move(client_end), written), std::move(config),
                                   MonotonicClock::now() + 10s));
  EXPECT_TRUE(client.has_value()) << describe(client.error());
  if (client && !handshake_only) {
    MUST(loop().run((*client)->write(as_bytes(message))));
    MUST((*client)->shutdown());
    test_support::settle(1s);
  }
  client = fail(Errc::closed);
  loop().destroy_spawned();
  return written;
}

void maybe_write_seed(const char* name, const std::vector<std::byte>& bytes) {
  const char* directory = std::getenv("MORGANA_TLS_SEED_DIR");
  if (directory == nullptr) return;
  std::string path = std::string(directory) + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file), bytes.size());
  std::fclose(file);
}

TEST(TlsReplay, RecordedSessionReplaysToItsEnd) {
  std::string_view message = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  auto session = record_session(message, "localhost", {"http/1.1"}, false);
  auto outcome = replay::replay(session);
  EXPECT_TRUE(outcome.handshake_done);
  EXPECT_TRUE(outcome.end.has_value()) << describe(outcome.end.error());
  EXPECT_EQ(as_string(outcome.application_data), message);
  maybe_write_seed("session_ec_alpn", session);

  auto rsa = record_session("hello", "www.example.test", {}, false);
  maybe_write_seed("session_www", rsa);
  auto hello = record_session("", "localhost", {"h2", "http/1.1"}, true);
  maybe_write_seed("handshake_only", hello);

  // A changed byte in the Finished message fails the handshake.
  auto broken = session;
  broken[broken.size() - 60] ^= std::byte{1};
  EXPECT_FALSE(replay::replay(broken).end.has_value());
}

} // namespace
} // namespace morgana::tls
