#include "morgana/git/client.h"

#include <algorithm>
#include <utility>

#include "morgana/core/format.h"
#include "morgana/core/log.h"

namespace morgana::git {

Counter fetches{"git.fetches", "git fetches that delivered a whole pack"};
Counter fetch_pack_bytes{"git.pack_bytes", "packfile bytes git fetches handed to their sinks"};
Counter client_failures{"git.failures", "git client calls that failed (connection, protocol, server error)"};

namespace {

log::Source git_log{"git"};

constexpr std::string_view smart_http_service = "# service=git-upload-pack";

bool matches_prefix(const Ref& ref, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  return std::ranges::any_of(prefixes, [&](const std::string& prefix) { return ref.name.starts_with(prefix); });
}

} // namespace

Client::Client(Transport& transport, ClientOptions options) : m_transport(transport), m_options(std::move(options)) {}

Client::~Client() { m_transport.close(); }

Instant Client::step_deadline(Instant deadline) const {
  return std::min(deadline, MonotonicClock::now() + m_options.timeout);
}

std::unexpected<Error> Client::failure(Error error, std::string_view detail) {
  // The transport's sentence usually names what failed already ("connect to
  // HOST: connection refused" for the context "connect"): not said twice.
  if (!detail.empty() && detail.find(error.context) == std::string_view::npos)
    m_last_error = format_string("{}: {}", error.context, detail);
  else if (!detail.empty()) m_last_error = std::string(detail);
  else m_last_error = format_string("{}", error);
  git_log.debug("{}", m_last_error);
  client_failures.increment();
  disconnect();
  return std::unexpected(error);
}

void Client::disconnect() {
  m_transport.close();
  m_connected = false;
  m_pending = {};
  if (m_decoder) m_decoder->discard_buffered();
}

Task<Result<bool>> Client::fill(Instant deadline) {
  if (m_pending.empty()) {
    auto piece = co_await m_transport.read(step_deadline(deadline));
    if (!piece) co_return failure(piece.error(), m_transport.last_error());
    if (piece->empty()) co_return false;
    m_pending = *piece;
  }
  auto count = std::min(m_pending.size(), m_decoder->free_space());
  CO_TRY(m_decoder->append(m_pending.first(count)));
  m_pending = m_pending.subspan(count);
  co_return true;
}

Task<Result<PktLine>> Client::next_line(Instant deadline) {
  for (;;) {
    auto line = m_decoder->next();
    if (!line) co_return failure(line.error(), m_decoder->error_text());
    if (*line) co_return **line;
    if (!CO_TRY(co_await fill(deadline)))
      co_return failure(Error{Errc::truncated, "the connection ended in the middle of a response"});
  }
}

Task<Result<void>> Client::connect(Instant deadline) {
  if (m_connected) co_return Result<void>{};
  if (!m_decoder) {
    auto decoder = PktLineDecoder::create();
    if (!decoder) co_return failure(decoder.error());
    m_decoder.emplace(std::move(*decoder));
  }
  disconnect();
  if (auto opened = co_await m_transport.open(m_options.protocol, deadline); !opened)
    co_return failure(opened.error(), m_transport.last_error());
  m_connected = true;
  co_return co_await read_advertisement(deadline);
}

Task<Result<void>> Client::read_advertisement(Instant deadline) {
  m_capabilities = {};
  m_advertisement = {};
  auto line = CO_TRY(co_await next_line(deadline));
  // Smart HTTP puts the service's name and a flush first (gitprotocol-http).
  if (line.is_data() && line.text() == smart_http_service) {
    line = CO_TRY(co_await next_line(deadline));
    if (line.kind != PktKind::flush) co_return failure(Error{Errc::malformed, "no flush after the service line"});
    line = CO_TRY(co_await next_line(deadline));
  }
  if (line.is_data() && line.text() == "version 2") {
    m_protocol = ProtocolVersion::v2;
    for (;;) {
      line = CO_TRY(co_await next_line(deadline));
      if (line.kind == PktKind::flush) break;
      if (auto added = add_v2_capability_line(m_capabilities, line); !added) co_return failure(added.error());
    }
    if (!m_capabilities.has("ls-refs") || !m_capabilities.has("fetch"))
      co_return failure(Error{Errc::unsupported, "the server's protocol v2 lacks ls-refs or fetch"});
  } else {
    m_protocol = ProtocolVersion::v0;
    if (line.is_data() && line.text() == "version 1") line = CO_TRY(co_await next_line(deadline));
    while (line.kind != PktKind::flush) {
      if (!line.is_data()) co_return failure(Error{Errc::malformed, "delim in the ref advertisement"});
      if (auto added = m_advertisement.add_line(line.text()); !added) co_return failure(added.error());
      line = CO_TRY(co_await next_line(deadline));
    }
    m_advertisement.finish();
    m_capabilities = m_advertisement.capabilities();
  }
  if (auto format = m_capabilities.check_object_format(); !format) co_return failure(format.error());
  git_log.debug("connected: protocol v{}, {} capabilities", static_cast<int>(m_protocol),
                m_capabilities.entries().size());
  co_return Result<void>{};
}

Task<Result<void>> Client::send_request(Result<std::string> request, Instant deadline) {
  if (!request) co_return failure(request.error());
  if (auto sent = co_await m_transport.send(as_bytes(*request), step_deadline(deadline)); !sent)
    co_return failure(sent.error(), m_transport.last_error());
  co_return Result<void>{};
}

Task<Result<std::vector<Ref>>> Client::list_refs(LsRefsRequest request, Instant deadline) {
  CO_TRY(co_await connect(deadline));
  std::vector<Ref> refs;
  if (m_protocol == ProtocolVersion::v0) {
    for (const auto& ref : m_advertisement.refs()) {
      if (matches_prefix(ref, request.ref_prefixes)) refs.push_back(ref);
    }
    co_return refs;
  }
  CO_TRY(co_await send_request(build_ls_refs(request, m_capabilities, m_options.agent), deadline));
  for (;;) {
    auto line = CO_TRY(co_await next_line(deadline));
    if (line.kind == PktKind::flush) break;
    if (!line.is_data()) co_return failure(Error{Errc::malformed, "delim in the ls-refs response"});
    if (refs.size() >= RefAdvertisement::max_refs)
      co_return failure(Error{Errc::limit_reached, "too many refs in the ls-refs response"});
    auto ref = parse_ls_refs_line(line.text());
    if (!ref) co_return failure(ref.error());
    refs.push_back(std::move(*ref));
  }
  co_return refs;
}

Task<Result<FetchResult>> Client::fetch(FetchRequest request, PackDataSink sink, Instant deadline) {
  CO_TRY(co_await connect(deadline));
  if (m_protocol == ProtocolVersion::v2) {
    FetchResponseV2 response(std::move(sink));
    CO_TRY(co_await fetch_v2(request, response, deadline));
    fetches.increment();
    fetch_pack_bytes.increment(response.result().pack_bytes);
    co_return response.result();
  }
  bool shallow = request.depth > 0 || !request.shallow.empty();
  FetchResponseV0 response(std::move(sink), chosen_side_band(m_capabilities), shallow);
  CO_TRY(co_await fetch_v0(request, response, deadline));
  // A v0 connection serves one request.
  disconnect();
  fetches.increment();
  fetch_pack_bytes.increment(response.result().pack_bytes);
  co_return response.result();
}

Task<Result<void>> Client::fetch_v2(const FetchRequest& request, FetchResponseV2& response, Instant deadline) {
  CO_TRY(co_await send_request(build_fetch_v2(request, m_capabilities, m_options.agent), deadline));
  for (;;) {
    auto line = CO_TRY(co_await next_line(deadline));
    auto done = response.on_line(line);
    if (!done) co_return failure(done.error(), response.error_text());
    if (*done) break;
  }
  git_log.debug("fetched {} pack bytes (protocol v2)", response.result().pack_bytes);
  co_return Result<void>{};
}

Task<Result<void>> Client::fetch_v0(const FetchRequest& request, FetchResponseV0& response, Instant deadline) {
  CO_TRY(co_await send_request(build_upload_request(request, m_capabilities, m_options.agent), deadline));
  while (!response.raw()) {
    auto line = CO_TRY(co_await next_line(deadline));
    auto done = response.on_line(line);
    if (!done) co_return failure(done.error(), response.error_text());
    if (*done) break;
  }
  if (response.raw()) {
    // No side-band: the pack runs unframed to the end of the stream.
    for (;;) {
      auto rest = response.on_raw(m_decoder->buffered());
      m_decoder->discard_buffered();
      if (!rest) co_return failure(rest.error());
      if (!CO_TRY(co_await fill(deadline))) break;
    }
    if (auto ended = response.on_end(); !ended) co_return failure(ended.error());
  }
  git_log.debug("fetched {} pack bytes (protocol v0)", response.result().pack_bytes);
  co_return Result<void>{};
}

} // namespace morgana::git
