#include "morgana/git/http_transport.h"

#include "morgana/core/format.h"

namespace morgana::git {

namespace {

constexpr std::string_view advertisement_type = "application/x-git-upload-pack-advertisement";
constexpr std::string_view request_type = "application/x-git-upload-pack-request";
constexpr std::string_view result_type = "application/x-git-upload-pack-result";
// More than this after a response's last pkt-line is not an HTTP message's
// end but data the git client did not ask for.
constexpr std::size_t max_finish_bytes = 4096;

// RFC 4648 §4, for RFC 7617's user-pass.
std::string base64(std::string_view text) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 3) {
    std::uint32_t group = static_cast<std::uint8_t>(text[i]) << 16;
    if (i + 1 < text.size()) group |= static_cast<std::uint8_t>(text[i + 1]) << 8;
    if (i + 2 < text.size()) group |= static_cast<std::uint8_t>(text[i + 2]);
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(i + 1 < text.size() ? alphabet[(group >> 6) & 63] : '=');
    out.push_back(i + 2 < text.size() ? alphabet[group & 63] : '=');
  }
  return out;
}

// The media type without parameters.
std::string_view media_type(std::string_view value) { return http::trim_ows(value.substr(0, value.find(';'))); }

} // namespace

HttpTransport::HttpTransport(http::Client& client, RemoteUrl url) : m_client(client), m_url(std::move(url)) {}

http::Headers HttpTransport::headers() const {
  http::Headers headers;
  if (m_version == ProtocolVersion::v2) headers.add("Git-Protocol", "version=2");
  if (!m_url.user.empty()) headers.add("Authorization", "Basic " + base64(m_url.user + ":" + m_url.password));
  return headers;
}

Task<void> HttpTransport::finish_response() {
  std::size_t left = max_finish_bytes;
  while (m_reader && !m_reader->done()) {
    auto piece = co_await m_reader->read();
    if (!piece || piece->size() > left) break;
    left -= piece->size();
  }
  m_reader.reset();
}

Task<Result<void>> HttpTransport::exchange(std::string_view method, std::string_view suffix,
                                           std::string_view content_type, Instant deadline) {
  co_await finish_response();
  RemoteUrl base = m_url;
  while (base.path.ends_with('/')) base.path.pop_back();
  auto url = http::Url::parse(format_string("{}{}", base, suffix));
  if (!url) co_return fail(Errc::invalid_argument, "the remote's URL is not a valid HTTP URL");
  http::ClientRequest request{
      .method = std::string(method), .url = std::move(*url), .headers = headers(), .deadline = deadline};
  if (method == "POST") {
    request.headers.add("Content-Type", request_type);
    request.headers.add("Accept", result_type);
    request.body = as_bytes(m_body);
  }
  m_last_error.clear();
  auto opened = co_await m_client.open(std::move(request));
  if (!opened) {
    m_last_error = m_client.last_error();
    co_return std::unexpected(opened.error());
  }
  auto& reader = *opened;
  if (http::code(reader.status()) == 401 || reader.status() == http::Status::forbidden)
    co_return fail(Errc::io_error, "the HTTP server refused access to the repository (401/403)");
  if (reader.status() == http::Status::not_found) co_return fail(Errc::not_found, "no repository at that URL (404)");
  if (reader.status() != http::Status::ok) co_return fail(Errc::io_error, "the HTTP server answered with an error");
  // A dumb server sends info/refs as text/plain (gitprotocol-http "Smart Clients").
  if (media_type(reader.headers().get("Content-Type").value_or("")) != content_type)
    co_return fail(Errc::unsupported, "the HTTP server does not speak smart HTTP (dumb servers are not supported)");
  m_reader.emplace(std::move(reader));
  co_return Result<void>{};
}

Task<Result<void>> HttpTransport::open(ProtocolVersion version, Instant deadline) {
  if (m_url.scheme == RemoteScheme::git) co_return fail(Errc::invalid_argument, "the HTTP transport needs http(s)");
  m_version = version;
  co_return co_await exchange("GET", "/info/refs?service=git-upload-pack", advertisement_type, deadline);
}

Task<Result<void>> HttpTransport::send(Bytes request, Instant deadline) {
  m_body.assign(as_string(request));
  co_return co_await exchange("POST", "/git-upload-pack", result_type, deadline);
}

Task<Result<Bytes>> HttpTransport::read(Instant) {
  if (!m_reader) co_return fail(Errc::closed, "no HTTP response to read");
  // The HTTP client bounds each piece with its own request timeout and deadline.
  auto piece = co_await m_reader->read();
  if (!piece) m_last_error = m_client.last_error();
  co_return piece;
}

} // namespace morgana::git
