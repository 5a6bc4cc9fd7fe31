#pragma once

// A git upload-pack client (fetch side of the smart protocols): lists a
// remote's refs and fetches a pack, in protocol v2 (gitprotocol-v2) or v0
// (gitprotocol-pack), over any Transport (git://: daemon_transport.h; smart
// HTTP: http_transport.h).
//
//   DaemonTransport transport(network, &resolver, TRY(RemoteUrl::parse("git://host/blog.git")));
//   git::Client client(transport);
//   auto refs = CO_TRY(co_await client.list_refs({.ref_prefixes = {"HEAD", "refs/heads/"}}, deadline));
//   auto fetched = CO_TRY(co_await client.fetch({.wants = {refs[0].id}}, pack_sink, deadline));
//
// The negotiation is one round: every have (up to max_haves) then done.
// The pack goes to the caller's sink as it arrives; nothing is kept here.
//
// Errors: the Error's static context names the fault; last_error() holds a
// sentence with the server's own words when it sent some ("ERR ...", a
// side-band error) or the transport's sentence (the HTTP client's), e.g.
// "the server sent an error (ERR): upload-pack: not our ref 1234...".

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/counter.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/git/capabilities.h"
#include "morgana/git/fetch.h"
#include "morgana/git/pkt_line.h"
#include "morgana/git/protocol_v0.h"
#include "morgana/git/protocol_v2.h"
#include "morgana/git/ref.h"
#include "morgana/git/side_band.h"
#include "morgana/git/transport.h"

namespace morgana::git {

struct ClientOptions {
  // The protocol asked for; a server without v2 answers in v0 all the same.
  ProtocolVersion protocol = ProtocolVersion::v2;
  // The longest the server may go without sending anything.
  Duration timeout = std::chrono::seconds(30);
  // Sent as agent=... when the server advertises its own.
  std::string agent = "morgana/0.1";
};

class Client {
public:
  // `transport` must outlive the client, which closes it when destroyed.
  explicit Client(Transport& transport, ClientOptions options = {});
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // The remote's refs whose names start with one of the prefixes (all when
  // none), with symref targets and peeled tags: ls-refs in v2, the ref
  // advertisement in v0.
  [[nodiscard]] Task<Result<std::vector<Ref>>> list_refs(LsRefsRequest request, Instant deadline);
  // Fetches a pack for `request`, handing its bytes to `sink` as they arrive.
  [[nodiscard]] Task<Result<FetchResult>> fetch(FetchRequest request, PackDataSink sink, Instant deadline);

  // What the server speaks and offers; known after the first call.
  [[nodiscard]] ProtocolVersion protocol() const { return m_protocol; }
  [[nodiscard]] const Capabilities& capabilities() const { return m_capabilities; }
  // The latest failure as a sentence; empty before any.
  [[nodiscard]] std::string_view last_error() const { return m_last_error; }

private:
  [[nodiscard]] Task<Result<void>> connect(Instant deadline);
  [[nodiscard]] Task<Result<void>> read_advertisement(Instant deadline);
  // The next pkt-line; Errc::truncated when the stream ends first.
  [[nodiscard]] Task<Result<PktLine>> next_line(Instant deadline);
  // Reads more bytes into the decoder; false at the end of the stream.
  [[nodiscard]] Task<Result<bool>> fill(Instant deadline);
  // Sends a built request (or records why it could not be built).
  [[nodiscard]] Task<Result<void>> send_request(Result<std::string> request, Instant deadline);
  [[nodiscard]] Task<Result<void>> fetch_v0(const FetchRequest& request, FetchResponseV0& response, Instant deadline);
  [[nodiscard]] Task<Result<void>> fetch_v2(const FetchRequest& request, FetchResponseV2& response, Instant deadline);
  [[nodiscard]] Instant step_deadline(Instant deadline) const;
  void disconnect();
  // Records a sentence for `error`, with `detail` (the server's or the
  // transport's words) when there is some.
  std::unexpected<Error> failure(Error error, std::string_view detail = {});

  Transport& m_transport;
  ClientOptions m_options;
  std::optional<PktLineDecoder> m_decoder;
  Bytes m_pending; // read from the transport, not yet in the decoder
  bool m_connected = false;
  ProtocolVersion m_protocol = ProtocolVersion::v2;
  Capabilities m_capabilities;
  RefAdvertisement m_advertisement; // v0
  std::string m_last_error;
};

extern Counter fetches;
extern Counter fetch_pack_bytes;
extern Counter client_failures;

} // namespace morgana::git
