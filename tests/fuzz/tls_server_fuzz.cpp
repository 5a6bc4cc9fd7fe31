// Feeds the input to a TLS server connection as everything a client sends,
// then ends the client's side; the server reads until its stream ends or
// fails. Entropy restarts before each input (replay_server.h), so seeds that
// are recorded client sessions (tests/unit/tls/replay_test.cpp writes them)
// replay past the handshake into application data and close_notify.

#include <cstdint>
#include <cstdlib>

#include "../unit/tls/replay_server.h"

using namespace morgana;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto outcome = tls::replay::replay(std::as_bytes(std::span(data, size)));
  // Application data comes only after a completed handshake.
  if (!outcome.application_data.empty() && !outcome.handshake_done) std::abort();
  return 0;
}
