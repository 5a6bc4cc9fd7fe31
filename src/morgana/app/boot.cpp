// The boot layer: the one place where boot arguments become the libraries'
// configuration values, and where an application gets its context.

#include "morgana/core/boot.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "morgana/app/context.h"
#include "morgana/app/entry.h"
#include "morgana/app/target.h"
#include "morgana/core/args.h"
#include "morgana/core/command_line.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/kv/stores.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/stack.h"
#include "morgana/platform/interface.h"

namespace morgana {
namespace {

args::Flag help_arg{"help", "print every boot argument with its default, then exit", false};
args::Option<std::string_view> logs_arg{"logs", "log levels per source, e.g. arp:debug,*:info", "*:info"};
args::Flag counters_arg{"counters", "print all counters, also those at zero, at exit", false};

args::Option<std::optional<net::Ipv4Cidr>> ipv4_arg{"ipv4", "address and prefix, e.g. 10.0.0.2/24 (DHCP when absent)",
                                                    std::nullopt};
args::Option<std::optional<net::Ipv4Address>> gateway_arg{"ipv4-gateway", "default gateway", std::nullopt};
args::Option<net::DnsServerList> dns_servers_arg{
    "dns-servers", "DNS servers to ask, e.g. 10.0.0.1,10.0.0.2 (those from DHCP when absent)", {}};
args::Option<Duration> msl_arg{"tcp-msl", "TCP maximum segment lifetime; TIME-WAIT lasts twice this",
                               net::TcpConfig{}.msl};

net::StackConfig stack_config() {
  net::StackConfig config;
  config.ipv4 = ipv4_arg.value();
  config.gateway = gateway_arg.value();
  auto servers = dns_servers_arg.value().addresses();
  config.dns_servers.assign(servers.begin(), servers.end());
  config.tcp.msl = msl_arg.value();
  return config;
}

void print_help(FormatSink& console) {
  if (!boot::description.empty()) format_to(console, "{}\n\n", boot::description);
  console.write("Settings (--name=VALUE):\n");
  args::print_help(console, args::Group::application);
  console.write("\nPlatform and libraries (--name=VALUE):\n");
  args::print_help(console, args::Group::morgana);
}

} // namespace

namespace boot {

// Behind every Context of one run: the network, once opened.
class Boot {
public:
  Context context() { return Context(*this); }

  Task<Result<net::Network*>> network(Instant deadline) {
    while (m_opening) CO_TRY(co_await m_opened.wait(deadline));
    if (m_network) co_return m_network.get();
    m_opening = true;
    auto opened = co_await open_network(deadline);
    m_opening = false;
    m_opened.notify_all();
    if (!opened) co_return std::unexpected(opened.error());
    m_network = std::move(*opened);
    co_return m_network.get();
  }

  // Before the loop's coroutines go: they may hold sockets of this network.
  void close_network() { m_network.reset(); }

private:
  static Task<Result<std::unique_ptr<net::Network>>> open_network(Instant deadline) {
    auto config = stack_config();
    if (platform::host_sockets()) co_return target::host_network(config.dns_servers);
    co_return CO_TRY(co_await net::Stack::open(std::move(config), deadline));
  }

  std::unique_ptr<net::Network> m_network;
  bool m_opening = false;
  WaitQueue m_opened;
};

} // namespace boot

Task<Result<net::Network*>> Context::network(Instant deadline) { return m_boot->network(deadline); }

const kv::Store* Context::store(std::string_view name) const { return kv::store(name); }

Result<const kv::Store*> Context::optional_store(std::string_view name,
                                                 std::initializer_list<std::string_view> contains) const {
  const kv::Store* found = store(name);
  if (!found) return nullptr;
  for (auto key : contains) {
    if (!found->metadata(key)) {
      boot::app_log.error("the store '{}' has no '{}'", name, key);
      return fail(Errc::invalid_argument, "a store lacks a file it must hold");
    }
  }
  return found;
}

Result<const kv::Store*> Context::required_store(std::string_view name,
                                                 std::initializer_list<std::string_view> contains) const {
  const kv::Store* found = TRY(optional_store(name, contains));
  if (!found) {
    boot::app_log.error("the application needs the store '{}' (stores here: {}); give it with ./morgana configure "
                        "APP-DIR --crunch {}=DIR{}",
                        name, kv::StoreNames{}, name, boot::target::store_hint());
    return fail(Errc::invalid_argument, "a required store is missing");
  }
  return found;
}

Task<void> Context::stopped() {
  while (!loop().stop_requested()) {
    if (!co_await loop().stop_requests().wait()) co_return;
  }
}

bool Context::stop_requested() const { return loop().stop_requested(); }

const log::Source& Context::log() const { return boot::app_log; }

namespace boot {

int run() {
  StringBuilder<512> diagnostics;
  // Split in a copy, which the string settings then point into until the image stops.
  std::string configured_line(configured_arguments);
  std::vector<std::string_view> configured;
  args::CommandLine words(configured_line);
  while (true) {
    auto word = words.next();
    if (!word) {
      format_to(diagnostics, "configured argument '{}': {}\nmorgana: stopping: bad boot argument\n",
                words.unterminated(), word.error().context);
      platform::console_write(diagnostics.view());
      return 2;
    }
    if (!*word) break;
    configured.push_back(**word);
  }
  if (!args::parse(configured, platform::boot_arguments(), diagnostics)) {
    format_to(diagnostics, "\nmorgana: stopping: bad boot argument\n");
    platform::console_write(diagnostics.view());
    return 2;
  }
  // Large outputs (help, counters) go to the console in pieces.
  platform::ConsoleSink console;
  if (help_arg.value()) {
    print_help(console);
    return 0;
  }
  if (auto configured_logs = log::configure(logs_arg.value()); !configured_logs) {
    format_to(console, "argument '--logs={}': {}\nmorgana: stopping: bad boot argument\n", logs_arg.value(),
              configured_logs.error().context);
    return 2;
  }
  if (!target::prepare(console)) {
    console.write("morgana: stopping: bad boot argument\n");
    return 2;
  }
  if (auto started = platform::start_devices(); !started) {
    // invalid_argument: a value the platform refused (a tap name).
    format_to(console, "morgana: stopping: {}: {}\n",
              started.error() == Errc::invalid_argument ? "bad boot argument" : "cannot start devices",
              started.error());
    return 2;
  }
  Boot state;
  auto context = state.context();
  Result<void> result = loop().run(start(context));
  loop().destroy_spawned();
  state.close_network();
  int status = loop().stop_status();
  if (!result) {
    format_to(console, "morgana: the application failed: {}\n", result.error());
    status = result.error() == Errc::invalid_argument ? 2 : 1;
  }
  console.write("counters:\n");
  Counter::print_all(console, counters_arg.value());
  format_to(console, "morgana: exit status {}\n", status);
  return status;
}

} // namespace boot
} // namespace morgana
