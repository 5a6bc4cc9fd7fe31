// fetch: a tiny curl on Morgana's HTTP client. Sends one request and prints
// the status line, the header fields, a blank line and the body (or, with
// --digest, one line "body: N bytes sha256 HEX"). Exit status 0 when a
// response arrived (whatever its status), 1 otherwise, with the reason.
//
//   fetch --net=socket --url=http://127.0.0.1:8080/index.html
//   fetch --net=socket --url=https://localhost:8443/ --digest
//   fetch --net=tap0 --ipv4=10.0.0.2/24 --dns-servers=10.0.0.1 --url=https://example.test/ --max-redirects=5
//   fetch --net=socket --url=https://site.test:8443/ --connect-to=site.test:127.0.0.1
//
// https servers are verified against the certificates (every *.pem file) of
// the store "ca": ./morgana build examples/fetch --crunch ca=DIR, or on
// hosted, fetch --store=ca=DIR. Without it, https is refused.

#include <bearssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/args.h"
#include "morgana/core/boot.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/http/client.h"
#include "morgana/kv/stores.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/platform/interface.h"
#include "morgana/tls/credentials.h"

namespace {

using namespace morgana;

// --connect-to=HOST:ADDRESS[,HOST:ADDRESS...]: fixed addresses instead of DNS.
struct HostMap {
  std::vector<http::HostAddress> entries;
  void format(FormatSink& sink) const {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      format_to(sink, "{}{}:{}", i ? "," : "", entries[i].host, entries[i].address);
    }
  }
};

[[nodiscard]] Result<void> parse_value(std::string_view text, HostMap& out) {
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return fail(Errc::invalid_argument, "expected HOST:ADDRESS");
    out.entries.push_back({std::string(item.substr(0, colon)), TRY(net::parse_ipv4(item.substr(colon + 1)))});
  }
  return {};
}

args::Option<std::optional<std::string_view>> url_arg{"url", "the URL to fetch (http:// or https://)", std::nullopt};
args::Option<std::string_view> method_arg{"method", "the request method", "GET"};
args::Option<std::string_view> header_arg{"header",
                                          "request header fields 'Name: value', several separated by newlines", ""};
args::Option<std::string_view> data_arg{"data", "the request body", ""};
args::Flag digest_arg{"digest", "print the body's length and SHA-256 instead of the body", false};
args::Option<HostMap> connect_to_arg{"connect-to", "HOST:ADDRESS[,...]: addresses to use instead of DNS", {}};
args::Option<std::uint32_t> max_redirects_arg{"max-redirects", "redirects to follow (0: print the 3xx)", 0};
args::Option<std::uint64_t> max_body_arg{"max-body", "the largest body accepted, in bytes", 64 * 1024 * 1024};
args::Option<Duration> connect_timeout_arg{"connect-timeout", "TCP connect and TLS handshake time limit", 10s};
args::Option<Duration> timeout_arg{"timeout", "how long the server may go without sending anything", 30s};

log::Source fetch_log{"fetch"};

// Every *.pem file of the store "ca", as trust anchors; null when there is none.
Result<std::shared_ptr<const tls::TrustAnchors>> load_trust_anchors() {
  const kv::Store* store = kv::store("ca");
  if (!store) return std::shared_ptr<const tls::TrustAnchors>{};
  auto anchors = std::make_shared<tls::TrustAnchors>();
  std::vector<std::string> directories{""};
  while (!directories.empty()) {
    auto directory = std::move(directories.back());
    directories.pop_back();
    for (const auto& entry : TRY(store->list(directory))) {
      auto key = directory.empty() ? entry.name : directory + "/" + entry.name;
      if (entry.is_directory) {
        directories.push_back(key);
      } else if (key.ends_with(".pem")) {
        auto value = TRY(store->get(key));
        if (auto added = anchors->add_pem(as_string(value.data)); !added) {
          fetch_log.error("ca/{}: {}", key, added.error());
          return std::unexpected(added.error());
        }
      }
    }
  }
  if (anchors->size() == 0) return std::shared_ptr<const tls::TrustAnchors>{};
  fetch_log.debug("{} trust anchors from the store 'ca'", anchors->size());
  return anchors;
}

Result<http::Headers> request_headers() {
  http::Headers headers;
  std::string_view text = header_arg.value();
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

class ConsoleSink final : public FormatSink {
public:
  void write(std::string_view text) override { platform::console_write(text); }
};

void print_head(const http::ClientResponse& head) {
  ConsoleSink console;
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

} // namespace

morgana::Task<int> morgana::app_main() {
  if (!url_arg.value()) {
    fetch_log.error("--url=URL is required");
    co_return 1;
  }
  auto url = http::Url::parse(*url_arg.value());
  if (!url) {
    fetch_log.error("--url={}: {}", *url_arg.value(), url.error().context);
    co_return 1;
  }
  auto headers = request_headers();
  if (!headers) {
    fetch_log.error("{}", headers.error().context);
    co_return 1;
  }
  auto anchors = load_trust_anchors();
  if (!anchors) {
    fetch_log.error("cannot load trust anchors from the store 'ca': {}", anchors.error());
    co_return 1;
  }
  if (url->scheme == http::Scheme::https && !*anchors) {
    fetch_log.error("refusing https: no trust anchors (stores: {}); build with --crunch ca=DIR (or on hosted, boot "
                    "with --store=ca=DIR) holding the CA's .pem files",
                    kv::StoreNames{});
    co_return 1;
  }
  auto network = co_await net::open_network();
  if (!network) {
    fetch_log.error("no network: {}", network.error());
    co_return 1;
  }
  net::DnsResolver resolver(**network);
  http::Client client(**network, {.connect_timeout = connect_timeout_arg.value(),
                                  .request_timeout = timeout_arg.value(),
                                  .max_body_size = max_body_arg.value(),
                                  .max_redirects = max_redirects_arg.value(),
                                  .trust_anchors = *anchors,
                                  .resolver = &resolver,
                                  .host_addresses = connect_to_arg.value().entries});
  http::ClientRequest request{.method = std::string(method_arg.value()),
                              .url = *url,
                              .headers = std::move(*headers),
                              .body = as_bytes(data_arg.value())};
  auto reader = co_await client.open(std::move(request));
  if (!reader) {
    fetch_log.error("{}", client.last_error());
    co_return 1;
  }
  print_head(reader->head());
  Sha256 digest;
  std::uint64_t length = 0;
  for (;;) {
    auto piece = co_await reader->read();
    if (!piece) {
      fetch_log.error("{}", client.last_error());
      co_return 1;
    }
    if (piece->empty()) break;
    length += piece->size();
    if (digest_arg.value()) digest.add(*piece);
    else platform::console_write(as_string(*piece));
  }
  if (digest_arg.value()) {
    ConsoleSink console;
    format_to(console, "body: {} bytes sha256 {}\n", length, digest);
  }
  if (reader->head().redirects > 0)
    fetch_log.info("followed {} redirects to {}", reader->head().redirects, reader->head().url);
  co_return 0;
}
