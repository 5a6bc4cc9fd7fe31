#pragma once

// The smart HTTP transport (gitprotocol-http): GET
// $URL/info/refs?service=git-upload-pack for the advertisement, then one
// POST $URL/git-upload-pack per request, over http::Client (https too, when
// the client has trust anchors). "Git-Protocol: version=2" asks for v2. A
// user and password in the URL go as Basic authorization. Dumb HTTP servers
// (no smart service) are refused.

#include <optional>
#include <string>
#include <string_view>

#include "morgana/git/remote_url.h"
#include "morgana/git/transport.h"
#include "morgana/http/client.h"

namespace morgana::git {

class HttpTransport final : public Transport {
public:
  // The URL's scheme must be http or https; `client` must outlive this.
  HttpTransport(http::Client& client, RemoteUrl url);

  [[nodiscard]] Task<Result<void>> open(ProtocolVersion version, Instant deadline) override;
  [[nodiscard]] Task<Result<void>> send(Bytes request, Instant deadline) override;
  [[nodiscard]] Task<Result<Bytes>> read(Instant deadline) override;
  void close() override { m_reader.reset(); }
  // The HTTP client's sentence when the failure was its own.
  [[nodiscard]] std::string_view last_error() const override { return m_last_error; }

private:
  // GET or POST of `suffix` below the repository's URL; checks the status
  // and that the response has `content_type`.
  [[nodiscard]] Task<Result<void>> exchange(std::string_view method, std::string_view suffix,
                                            std::string_view content_type, Instant deadline);
  [[nodiscard]] http::Headers headers() const;
  // Reads what is left of the previous response (the git client stops at
  // its last pkt-line; a chunked body's last chunk may follow), so that its
  // connection goes back to the HTTP client's pool for the next request. A
  // response with more than a little left is dropped with its connection.
  [[nodiscard]] Task<void> finish_response();

  http::Client& m_client;
  RemoteUrl m_url;
  ProtocolVersion m_version = ProtocolVersion::v2;
  std::string m_body; // the request being posted, alive until its response is read
  std::optional<http::ResponseReader> m_reader;
  std::string m_last_error;
};

} // namespace morgana::git
