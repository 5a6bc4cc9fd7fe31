#pragma once

// How the protocol reaches git-upload-pack: the boundary between the
// protocol logic (client.h) and a connection. Two shapes fit it:
//
//   git:// (daemon_transport.h): one TCP stream. open() sends the
//     git-proto-request ("git-upload-pack /path\0host=HOST\0\0version=2\0"),
//     the advertisement follows on the stream, each send() writes a request
//     and read() goes on reading the same stream.
//   smart HTTP (http_transport.h, over http::Client): open() is GET
//     info/refs?service=git-upload-pack with "Git-Protocol: version=2",
//     read() hands out its body (ResponseReader::read); each send() is a POST
//     to git-upload-pack (Content-Type application/x-git-upload-pack-request)
//     whose response body read() then hands out. Requests are stateless, so
//     the client puts the whole negotiation in one request.

#include <cstdint>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"

namespace morgana::git {

enum class ProtocolVersion : std::uint8_t { v0 = 0, v2 = 2 };

class Transport {
public:
  virtual ~Transport() = default;

  // Starts the upload-pack service, asking for `version` (a server without
  // v2 answers in v0). Ends whatever an earlier open() started.
  [[nodiscard]] virtual Task<Result<void>> open(ProtocolVersion version, Instant deadline) = 0;
  // One whole request (pkt-lines); its response is read next.
  [[nodiscard]] virtual Task<Result<void>> send(Bytes request, Instant deadline) = 0;
  // The next piece of the advertisement or of the latest request's response,
  // valid until the next call; empty at its end.
  [[nodiscard]] virtual Task<Result<Bytes>> read(Instant deadline) = 0;
  // Ends the exchange (closes a connection).
  virtual void close() = 0;
  // A sentence on the latest failure when the layer below keeps one (the
  // HTTP client's last_error()); empty otherwise.
  [[nodiscard]] virtual std::string_view last_error() const { return {}; }
};

} // namespace morgana::git
