#include "morgana/net/dns_resolver.h"

#include <algorithm>
#include <array>
#include <optional>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/random.h"
#include "morgana/net/network.h"

namespace morgana::net {
namespace {

log::Source dns_log{"dns"};

Counter queries_sent{"dns.queries", "DNS queries sent"};
Counter timeouts{"dns.timeouts", "DNS queries that got no acceptable reply in time"};
Counter send_failed{"dns.send_failed", "DNS queries that could not be sent (no route, no memory)"};
Counter wrong_source{"dns.wrong_source", "DNS replies from an address we did not ask"};
Counter wrong_port{"dns.wrong_port", "DNS replies from a port other than 53"};
Counter wrong_id{"dns.wrong_id", "DNS replies whose ID does not match the query"};
Counter not_response{"dns.not_response", "DNS messages to our port that are not responses to a standard query"};
Counter wrong_question{"dns.wrong_question", "DNS replies that do not repeat our question"};
Counter malformed{"dns.malformed", "DNS replies that do not parse"};
Counter truncated{"dns.truncated", "DNS replies with TC set (no TCP fallback)"};
Counter server_errors{"dns.server_errors", "DNS replies with an error RCODE other than NXDOMAIN"};
Counter cache_hits{"dns.cache_hits", "names answered from the DNS cache"};

// The reply to our query, or nothing (counted) when `datagram` is not it:
// RFC 5452 §4.3 asks for the server's address and port, the ID and the question.
std::optional<DnsMessage> accept_reply(const Datagram& datagram, Endpoint server, std::uint16_t id,
                                       const DnsName& name) {
  if (datagram.source.address != server.address) {
    wrong_source.increment();
    dns_log.debug("ignored a reply from {} (asked {})", datagram.source, server.address);
    return std::nullopt;
  }
  if (datagram.source.port != server.port) {
    wrong_port.increment();
    dns_log.debug("ignored a reply from {} (not port {})", datagram.source, server.port);
    return std::nullopt;
  }
  ByteReader reader(datagram.payload.data());
  auto header = DnsHeader::parse(reader);
  if (!header) {
    malformed.increment();
    dns_log.debug("ignored a reply from {}: {}", datagram.source, header.error());
    return std::nullopt;
  }
  if (header->id != id) {
    wrong_id.increment();
    dns_log.debug("ignored a reply from {} with ID {} (expected {})", datagram.source, header->id, id);
    return std::nullopt;
  }
  if (!header->qr || header->opcode != 0) {
    not_response.increment();
    dns_log.debug("ignored a message from {} that is not a query response", datagram.source);
    return std::nullopt;
  }
  auto message = DnsMessage::parse(datagram.payload.data());
  if (!message) {
    malformed.increment();
    dns_log.debug("ignored a reply from {}: {}", datagram.source, message.error());
    return std::nullopt;
  }
  // Some servers leave the question out of error replies; those can only make
  // us move on to the next server, so they need not carry it.
  bool error_without_question =
      message->questions().empty() && header->rcode != dns::rcode_no_error && header->rcode != dns::rcode_name_error;
  if (!error_without_question &&
      (message->questions().size() != 1 || message->questions()[0] != DnsQuestion{name, dns::type_a, dns::class_in})) {
    wrong_question.increment();
    dns_log.debug("ignored a reply from {} for another question", datagram.source);
    return std::nullopt;
  }
  return std::move(*message);
}

} // namespace

void DnsServerList::format(FormatSink& sink) const {
  if (count == 0) {
    sink.write("none");
    return;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (i) sink.put(',');
    slots[i].format(sink);
  }
}

Result<void> parse_value(std::string_view text, DnsServerList& out) {
  DnsServerList list;
  while (true) {
    if (list.count == DnsServerList::capacity) return fail(Errc::invalid_argument, "at most 4 DNS servers");
    auto comma = text.find(',');
    list.slots[list.count++] = TRY(parse_ipv4(text.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  out = list;
  return {};
}

std::vector<Ipv4Address> DnsResolver::servers() const {
  return {m_network.dns_servers().begin(), m_network.dns_servers().end()};
}

Task<Result<std::vector<Ipv4Address>>> DnsResolver::resolve(std::string_view name, Instant deadline) {
  if (auto literal = parse_ipv4(name)) co_return std::vector<Ipv4Address>{*literal};
  auto qname = CO_TRY(DnsName::from_text(name));
  if (const auto* entry = cached(qname, MonotonicClock::now())) {
    cache_hits.increment();
    co_return entry->addresses;
  }
  auto server_list = servers();
  if (server_list.empty()) co_return fail(Errc::unreachable, "no DNS server configured (--dns-servers or DHCP)");

  // A server's error (SERVFAIL, an unsendable query) outranks silence.
  Error last_error{Errc::timed_out, "no DNS server answered"};
  for (int round = 0; round < rounds; ++round) {
    for (auto server : server_list) {
      if (MonotonicClock::now() >= deadline) co_return std::unexpected(last_error);
      auto answers = co_await query(qname, server, deadline);
      if (answers) {
        remember(qname, *answers, MonotonicClock::now());
        std::vector<Ipv4Address> addresses;
        addresses.reserve(answers->size());
        for (const auto& answer : *answers) addresses.push_back(answer.address);
        co_return addresses;
      }
      auto code = answers.error().code;
      // NXDOMAIN and NODATA are answers; a local failure will not go away.
      if (code == Errc::not_found || code == Errc::no_entropy || code == Errc::no_memory)
        co_return std::unexpected(answers.error());
      if (code != Errc::timed_out) last_error = answers.error();
    }
  }
  dns_log.info("no answer for {}: {}", qname, last_error);
  co_return std::unexpected(last_error);
}

Task<Result<std::vector<DnsAddress>>> DnsResolver::query(const DnsName& name, Ipv4Address server, Instant deadline) {
  auto socket = CO_TRY(m_network.udp_bind(0));
  auto id = CO_TRY(random::u16());
  std::array<std::byte, dns::max_udp_message> buffer;
  auto query_bytes = CO_TRY(DnsMessage::write_query(buffer, id, name));
  Endpoint destination{server, dns::port};
  if (auto sent = socket->send_to(destination, query_bytes); !sent) {
    send_failed.increment();
    dns_log.debug("could not send a query for {} to {}: {}", name, destination, sent.error());
    co_return std::unexpected(sent.error());
  }
  queries_sent.increment();
  dns_log.debug("asked {} for {} (ID {}, port {})", server, name, id, socket->local_port());

  auto try_deadline = std::min(deadline, MonotonicClock::now() + per_try_timeout);
  while (true) {
    auto datagram = co_await socket->receive_from(try_deadline);
    if (!datagram) {
      if (datagram.error() == Errc::timed_out) {
        timeouts.increment();
        dns_log.debug("no reply from {} for {}", server, name);
      }
      co_return std::unexpected(datagram.error());
    }
    auto reply = accept_reply(*datagram, destination, id, name);
    if (!reply) continue;
    if (reply->header().tc) {
      truncated.increment();
      dns_log.debug("{} sent a truncated reply for {}", server, name);
      co_return fail(Errc::unsupported, "DNS reply truncated (TC) and no TCP fallback");
    }
    auto answers = reply->a_records(name);
    if (!answers) {
      if (answers.error() != Errc::not_found) server_errors.increment();
      dns_log.debug("{} for {}: {}", server, name, answers.error());
      co_return std::unexpected(answers.error());
    }
    dns_log.debug("{} answered {} with {} addresses", server, name, answers->size());
    co_return std::move(*answers);
  }
}

const DnsResolver::CacheEntry* DnsResolver::cached(const DnsName& name, Instant now) {
  std::erase_if(m_cache, [&](const CacheEntry& entry) { return entry.expires <= now; });
  auto entry = std::ranges::find_if(m_cache, [&](const CacheEntry& e) { return e.name == name; });
  return entry == m_cache.end() ? nullptr : &*entry;
}

void DnsResolver::remember(const DnsName& name, const std::vector<DnsAddress>& answers, Instant now) {
  std::uint32_t ttl = max_cache_ttl;
  for (const auto& answer : answers) ttl = std::min(ttl, answer.ttl);
  if (ttl == 0) return;
  std::erase_if(m_cache, [&](const CacheEntry& entry) { return entry.name == name || entry.expires <= now; });
  if (m_cache.size() >= max_cache_entries) {
    // Full: the entry closest to expiry goes first.
    m_cache.erase(std::ranges::min_element(m_cache, {}, &CacheEntry::expires));
  }
  CacheEntry entry{name, {}, now + std::chrono::seconds(ttl)};
  entry.addresses.reserve(answers.size());
  for (const auto& answer : answers) entry.addresses.push_back(answer.address);
  m_cache.push_back(std::move(entry));
}

} // namespace morgana::net
