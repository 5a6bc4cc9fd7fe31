#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/dns_message.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

class Network;

// A value of --dns-servers: "10.0.0.1,10.0.0.2". A fixed array, as a
// resolver asks at most a few servers (resolv.conf's MAXNS is 3).
struct DnsServerList {
  static constexpr std::size_t capacity = 4;
  std::array<Ipv4Address, capacity> slots{};
  std::uint8_t count = 0;

  [[nodiscard]] std::span<const Ipv4Address> addresses() const { return std::span(slots).first(count); }
  void format(FormatSink& sink) const;
};

// Comma-separated IPv4 addresses, one to DnsServerList::capacity.
[[nodiscard]] Result<void> parse_value(std::string_view text, DnsServerList& out);

// A stub resolver (RFC 1035 §7): asks recursive servers for A records over UDP
// and keeps the answers for their TTL.
class DnsResolver {
public:
  // Rounds over the server list; each query waits this long for its reply.
  static constexpr int rounds = 3;
  static constexpr Duration per_try_timeout = std::chrono::seconds(2);
  static constexpr std::size_t max_cache_entries = 64;
  // Answers are kept at most this long, whatever their TTL says.
  static constexpr std::uint32_t max_cache_ttl = 24 * 60 * 60;

  explicit DnsResolver(Network& network) : m_network(network) {}

  // A records for `name`: a dotted IPv4 address is returned as is; otherwise
  // the cache answers, or the network's servers (configured, or from DHCP)
  // are asked, in turn, for `rounds` rounds,
  // each query from a fresh ephemeral port with a random ID. Errc::timed_out
  // when no server answers before `deadline`; Errc::not_found for NXDOMAIN or
  // no A records; Errc::invalid_argument for a name that is not a host name;
  // Errc::unreachable without servers; the last server error (SERVFAIL…) when
  // every server that answered failed.
  [[nodiscard]] Task<Result<std::vector<Ipv4Address>>> resolve(std::string_view name, Instant deadline);

  // Forgets every cached answer.
  void clear_cache() { m_cache.clear(); }

private:
  struct CacheEntry {
    DnsName name;
    std::vector<Ipv4Address> addresses;
    Instant expires;
  };
  [[nodiscard]] std::vector<Ipv4Address> servers() const;
  [[nodiscard]] Task<Result<std::vector<DnsAddress>>> query(const DnsName& name, Ipv4Address server, Instant deadline);
  [[nodiscard]] const CacheEntry* cached(const DnsName& name, Instant now);
  void remember(const DnsName& name, const std::vector<DnsAddress>& answers, Instant now);

  Network& m_network;
  std::vector<CacheEntry> m_cache;
};

} // namespace morgana::net
