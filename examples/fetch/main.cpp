// fetch: a tiny curl on Morgana's HTTP client. Sends one request and prints
// the status line, the header fields, a blank line and the body (or, with
// --digest, one line "body: N bytes sha256 HEX"). Exit status 0 when a
// response arrived (whatever its status), 1 otherwise, with the reason (2 for
// a bad setting).
//
//   fetch --net=socket --url=http://127.0.0.1:8080/index.html
//   fetch --net=socket --url=https://localhost:8443/ --digest
//   fetch --net=tap0 --ipv4=10.0.0.2/24 --dns-servers=10.0.0.1 --url=https://example.test/ --max-redirects=5
//   fetch --net=socket --url=https://site.test:8443/ --connect-to=site.test:127.0.0.1
//
// https servers are verified against the certificates (every *.pem file) of
// the store "ca": ./morgana configure examples/fetch --crunch ca=DIR, or on
// hosted, fetch --store=ca=DIR. Without it, https is refused.

#include <bearssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/http/client.h"
#include "morgana/http/trust_anchors.h"
#include "morgana/kv/stores.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

// --connect-to=HOST:ADDRESS[,HOST:ADDRESS...]: fixed addresses instead of DNS.
Result<std::vector<http::HostAddress>> parse_host_addresses(std::string_view text) {
  std::vector<http::HostAddress> entries;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.rfind(':');
    auto address = net::parse_ipv4(item.substr(colon + 1));
    if (colon == std::string_view::npos || colon == 0 || !address)
      return fail(Errc::invalid_argument, "--connect-to: expected HOST:ADDRESS[,...], ADDRESS in IPv4");
    entries.push_back({std::string(item.substr(0, colon)), *address});
  }
  return entries;
}

Result<http::Headers> request_headers(std::string_view text) {
  http::Headers headers;
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail(Errc::invalid_argument, "--header: expected 'Name: value'");
    headers.add(line.substr(0, colon), http::trim_ows(line.substr(colon + 1)));
  }
  return headers;
}

void print_head(const http::ClientResponse& head) {
  platform::ConsoleSink console;
  format_to(console, "{} {} {}\n", http::version_name(head.version), http::code(head.status), head.reason);
  for (const auto& field : head.headers) format_to(console, "{}: {}\n", field.name, field.value);
  console.write("\n");
}

struct Sha256 {
  br_sha256_context context{};
  Sha256() { br_sha256_init(&context); }
  void add(Bytes data) { br_sha256_update(&context, data.data(), data.size()); }
  void format(FormatSink& sink) const {
    unsigned char digest[br_sha256_SIZE];
    br_sha256_out(&context, digest);
    for (auto byte : digest) format_to(sink, "{}", Hex{byte, 2});
  }
};

// A failed exchange, logged with the client's sentence. Status 2 is for bad
// settings, and TLS calls a refused certificate Errc::invalid_argument: as
// the server's fault, that becomes Errc::closed (status 1).
Error exchange_failed(const http::Client& client, const log::Source& log, Error error) {
  log.error("{}", client.last_error());
  if (error == Errc::invalid_argument) error.code = Errc::closed;
  return error;
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  const auto& log = context.log();
  if (!settings.url) co_return fail(Errc::invalid_argument, "--url=URL is required");
  auto url = CO_TRY(http::Url::parse(*settings.url));
  auto headers = CO_TRY(request_headers(settings.header));
  auto host_addresses = CO_TRY(parse_host_addresses(settings.connect_to));
  auto anchors = CO_TRY(http::trust_anchors_from_store(context.stores.ca, log));
  if (url.scheme == http::Scheme::https && !anchors) {
    log.error("refusing https: no trust anchors (stores: {}); give the CA's .pem files with ./morgana configure "
              "APP-DIR --crunch ca=DIR (or on hosted, boot with --store=ca=DIR)",
              kv::StoreNames{});
    co_return fail(Errc::unsupported, "https without trust anchors");
  }
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  http::Client client(network, {.connect_timeout = settings.connect_timeout,
                                .request_timeout = settings.timeout,
                                .max_body_size = settings.max_body,
                                .max_redirects = settings.max_redirects,
                                .trust_anchors = anchors,
                                .resolver = &resolver,
                                .host_addresses = std::move(host_addresses)});
  http::ClientRequest request{.method = std::string(settings.method),
                              .url = url,
                              .headers = std::move(headers),
                              .body = as_bytes(settings.data)};
  auto reader = co_await client.open(std::move(request));
  if (!reader) co_return std::unexpected(exchange_failed(client, log, reader.error()));
  print_head(reader->head());
  Sha256 digest;
  std::uint64_t length = 0;
  for (;;) {
    auto piece = co_await reader->read();
    if (!piece) co_return std::unexpected(exchange_failed(client, log, piece.error()));
    if (piece->empty()) break;
    length += piece->size();
    if (settings.digest) digest.add(*piece);
    else platform::console_write(as_string(*piece));
  }
  if (settings.digest) {
    platform::ConsoleSink console;
    format_to(console, "body: {} bytes sha256 {}\n", length, digest);
  }
  if (reader->head().redirects > 0)
    log.info("followed {} redirects to {}", reader->head().redirects, reader->head().url);
  co_return Result<void>{};
}
