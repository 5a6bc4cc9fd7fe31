// git_wire_app: Morgana's git client against a real git daemon, for
// tests/system/git_wire_test.py. Lists the remote's refs and prints them as
// `git ls-remote` does (one "ref ID NAME" line each, a peeled tag as
// "ref ID NAME^{}"), plus "symref NAME TARGET" and "protocol vN"; with
// --pack-out=FILE it then fetches every listed ref and writes the pack to
// FILE, printing "pack N bytes".
//
//   git_wire_app --net=socket --remote=git://127.0.0.1:9418/repo.git --pack-out=/tmp/p.pack [--protocol=0]
//   git_wire_app --net=socket --remote=http://127.0.0.1:8080/repo.git (smart HTTP)
//
// It writes the pack with plain POSIX calls: a hosted-only test tool, which
// portable code must never do.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/git/client.h"
#include "morgana/git/follower.h"
#include "morgana/git/open_transport.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

template <class... Args>
void print(std::string_view pattern, const Args&... args) {
  StringSink line;
  line.write("git_wire_app: ");
  format_to(line, pattern, args...);
  line.put('\n');
  platform::console_write(line.text());
}

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    auto comma = text.find(',');
    if (comma != 0) parts.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

// The pack file, written as the pack arrives.
class PackFile {
public:
  explicit PackFile(std::string_view path)
      : m_fd(::open(std::string(path).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)) {}
  PackFile(const PackFile&) = delete;
  PackFile& operator=(const PackFile&) = delete;
  ~PackFile() {
    if (m_fd >= 0) ::close(m_fd);
  }
  [[nodiscard]] bool is_open() const { return m_fd >= 0; }
  [[nodiscard]] Result<void> write(Bytes data) const {
    while (!data.empty()) {
      auto written = ::write(m_fd, data.data(), data.size());
      if (written <= 0) return fail(Errc::io_error, "cannot write the pack file");
      data = data.subspan(static_cast<std::size_t>(written));
    }
    return {};
  }

private:
  int m_fd;
};

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& settings = context.settings;
  auto url = CO_TRY(git::remote_from_setting(settings.remote, false, context.log()));
  if (settings.protocol != 0 && settings.protocol != 2) co_return fail(Errc::invalid_argument, "--protocol is 0 or 2");
  auto deadline = MonotonicClock::now() + settings.timeout;
  auto& network = *CO_TRY(co_await context.network());
  net::DnsResolver resolver(network);
  // Smart HTTP (plain http: this test tool has no trust anchors for https).
  http::Client http_client(network, {.request_timeout = settings.timeout, .resolver = &resolver});
  auto transport = CO_TRY(git::open_transport(url, network, &resolver, http_client));
  git::Client client(*transport,
                     {.protocol = settings.protocol == 0 ? git::ProtocolVersion::v0 : git::ProtocolVersion::v2});

  auto refs = co_await client.list_refs({.ref_prefixes = split(settings.ref_prefix)}, deadline);
  if (!refs) {
    print("list failed: {}", client.last_error());
    co_return std::unexpected(refs.error());
  }
  print("protocol v{}", static_cast<int>(client.protocol()));
  git::FetchRequest request{.depth = settings.depth};
  for (const auto& ref : *refs) {
    if (!ref.symref_target.empty()) print("symref {} {}", ref.name, ref.symref_target);
    if (ref.id.empty()) continue;
    print("ref {} {}", ref.id, ref.name);
    if (!ref.peeled.empty()) print("ref {} {}^{}", ref.peeled, ref.name, "{}");
    if (std::ranges::find(request.wants, ref.id) == request.wants.end()) request.wants.push_back(ref.id);
  }
  print("refs {}", refs->size());
  if (settings.pack_out.empty() || request.wants.empty()) co_return Result<void>{};

  PackFile file(settings.pack_out);
  if (!file.is_open()) {
    context.log().error("cannot create {}", settings.pack_out);
    co_return fail(Errc::io_error, "cannot create the pack file");
  }
  auto fetched = co_await client.fetch(std::move(request), [&](Bytes data) { return file.write(data); }, deadline);
  if (!fetched) {
    print("fetch failed: {}", client.last_error());
    co_return std::unexpected(fetched.error());
  }
  print("pack {} bytes", fetched->pack_bytes);
  for (const auto& id : fetched->shallow) print("shallow {}", id);
  co_return Result<void>{};
}
