#pragma once

// One TLS server connection fed recorded client bytes: what the server fuzzer
// runs on each input, and what the seed test checks a recorded session with.
// Entropy is the simulated platform's deterministic stream, restarted before
// each connection, so a client flight recorded against this server replays
// byte for byte: the server's random values and ECDHE key come out the same,
// and ECDSA signatures are deterministic (RFC 6979).

#include <memory>
#include <vector>

#include "memory_stream.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "morgana/tls/server.h"
#include "sim.h"
#include "test_certs.h"

namespace morgana::tls::replay {

// Built once: EC and RSA credentials, ALPN "http/1.1", a session cache.
inline ServerContext& context() {
  static std::unique_ptr<ServerContext> server = [] {
    ServerConfig config;
    config.credentials.push_back(MUST(Credentials::from_pem(test::certs::ec_server_pem, test::certs::ec_server_key)));
    config.credentials.push_back(MUST(Credentials::from_pem(test::certs::rsa_server_pem, test::certs::rsa_server_key)));
    config.alpn = {"http/1.1"};
    config.session_cache_entries = 16;
    return MUST(ServerContext::create(std::move(config)));
  }();
  return *server;
}

// A server stream over a fresh pair, its entropy restarted: the client end is returned in `client`.
inline std::unique_ptr<Stream> fresh_server(std::unique_ptr<net::Stream>& client) {
  auto& server = context();
  sim::reset();
  random::reset();
  auto pair = test::make_stream_pair(256 * 1024);
  client = std::move(pair.client);
  return MUST(accept(std::move(pair.server), server));
}

struct Outcome {
  std::vector<std::byte> application_data; // what the server read
  Result<void> end;                        // ok at close_notify, else how reading failed
  bool handshake_done = false;
};

// Writes `client_bytes` as the client, ends the client's side, and reads
// on the server until its stream ends or fails.
inline Outcome replay(Bytes client_bytes) {
  std::unique_ptr<net::Stream> client;
  auto server = fresh_server(client);
  MUST(loop().run(client->write(client_bytes)));
  MUST(client->shutdown());
  Outcome outcome;
  auto read_all = [](Stream& stream, Outcome& out) -> Task<void> {
    std::byte chunk[4096];
    auto deadline = MonotonicClock::now() + 10s;
    for (;;) {
      auto count = co_await stream.read(chunk, deadline);
      if (!count) {
        out.end = std::unexpected(count.error());
        break;
      }
      if (*count == 0) break;
      out.application_data.insert(out.application_data.end(), chunk, chunk + *count);
    }
    out.handshake_done = stream.handshake_done();
  };
  loop().run(read_all(*server, outcome));
  server.reset();
  client.reset();
  loop().destroy_spawned();
  return outcome;
}

} // namespace morgana::tls::replay
