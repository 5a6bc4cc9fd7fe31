#include "morgana/net/dhcp_client.h"

#include <algorithm>
#include <array>

#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/random.h"

namespace morgana::net {
namespace {

log::Source dhcp_log{"dhcp"};

Counter malformed{"dhcp.malformed", "DHCP replies that do not parse"};
Counter not_reply{"dhcp.not_reply", "DHCP messages on port 68 whose op is not BOOTREPLY"};
Counter wrong_xid{"dhcp.wrong_xid", "DHCP replies to another transaction"};
Counter wrong_chaddr{"dhcp.wrong_chaddr", "DHCP replies for another client hardware address"};
Counter unexpected_type{"dhcp.unexpected_type", "DHCP replies of a type not expected now, or of none"};
Counter wrong_server{"dhcp.wrong_server", "DHCP replies from a server other than the one chosen"};
Counter incomplete{"dhcp.incomplete", "DHCP replies without a server identifier, or ACKs without a lease time"};
Counter bad_address{"dhcp.bad_address", "DHCP offers and ACKs of an address no host may use"};
Counter send_failed{"dhcp.send_failed", "DHCP messages the stack could not send"};
Counter naks{"dhcp.naks", "DHCP NAKs received"};
Counter leases_bound{"dhcp.leases_bound", "DHCP leases bound, renewed or rebound"};
Counter leases_expired{"dhcp.leases_expired", "DHCP leases that expired unrenewed"};

bool usable_host_address(Ipv4Address address) {
  return !address.is_any() && !address.is_broadcast() && !address.is_multicast() && !address.is_loopback();
}

// Without a (contiguous) subnet mask option: the address's class (RFC 791 §3.2).
std::uint8_t classful_prefix(Ipv4Address address) {
  if (address.value < 0x80000000u) return 8;
  if (address.value < 0xc0000000u) return 16;
  return 24;
}

bool same_config(const Ipv4Config& a, const Ipv4Config& b) {
  return a.address == b.address && a.gateway == b.gateway && a.dns_servers == b.dns_servers;
}

} // namespace

DhcpClient::DhcpClient(Stack& stack) : m_stack(stack) {}

Result<void> DhcpClient::open_socket() {
  if (!m_socket) m_socket = TRY(m_stack.udp().bind(DhcpMessage::client_port));
  return {};
}

Result<void> DhcpClient::new_exchange() {
  m_xid = TRY(random::u32());
  m_exchange_started = MonotonicClock::now();
  return {};
}

std::uint16_t DhcpClient::secs() const {
  // RFC 2131 §2: seconds since the client began acquisition or renewal.
  auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(MonotonicClock::now() - m_exchange_started).count();
  return static_cast<std::uint16_t>(std::clamp<std::int64_t>(elapsed, 0, 0xffff));
}

Result<Duration> DhcpClient::retransmission_delay(int attempt) const {
  Duration base = max_retransmission;
  if (attempt < 4) base = first_retransmission * (1 << attempt);
  // RFC 2131 §4.1: randomised by a uniform number between -1 and +1 seconds.
  auto jitter_ms = static_cast<std::int64_t>(TRY(random::u32()) % 2001) - 1000;
  return base + std::chrono::milliseconds(jitter_ms);
}

Result<void> DhcpClient::send(const DhcpMessage& message, Delivery delivery) {
  std::array<std::byte, DhcpMessage::maximum_size> buffer;
  ByteWriter writer(buffer);
  message.write(writer);
  auto bytes = writer.finish();
  Result<void> sent;
  if (!bytes) sent = std::unexpected(bytes.error());
  else if (delivery == Delivery::unicast_to_server)
    sent = m_socket->send_to({m_lease->server, DhcpMessage::server_port}, *bytes);
  else // while unconfigured our address is 0.0.0.0, as RFC 2131 §4.1 asks
    sent = m_socket->send_from(m_stack.config().address.address, {Ipv4Address::broadcast(), DhcpMessage::server_port},
                               *bytes);
  if (!sent) {
    send_failed.increment();
    dhcp_log.debug("{} not sent: {}", message.message_type, sent.error());
    return sent;
  }
  dhcp_log.debug("sent {} xid {} secs {}", message.message_type, Hex{message.xid, 8}, message.secs);
  return {};
}

Task<Result<DhcpMessage>> DhcpClient::receive_reply(Expectation expected, Instant until) {
  while (true) {
    auto datagram = CO_TRY(co_await m_socket->receive_from(until));
    auto reply = DhcpMessage::parse(datagram.payload.data());
    if (!reply) {
      malformed.increment();
      dhcp_log.debug("dropped a reply from {}: {}", datagram.source, reply.error());
      continue;
    }
    if (acceptable(*reply, expected)) co_return std::move(*reply);
  }
}

bool DhcpClient::acceptable(const DhcpMessage& reply, const Expectation& expected) const {
  auto drop = [&](Counter& counter, std::string_view why) {
    counter.increment();
    dhcp_log.debug("dropped {} xid {}: {}", reply.message_type, Hex{reply.xid, 8}, why);
    return false;
  };
  if (reply.op != DhcpMessage::bootreply) return drop(not_reply, "not a BOOTREPLY");
  if (reply.xid != m_xid) return drop(wrong_xid, "another transaction");
  if (reply.client_mac() != m_stack.mac()) return drop(wrong_chaddr, "another client's hardware address");
  auto type = reply.message_type;
  bool nak = type == DhcpMessageType::nak && expected.type == DhcpMessageType::ack;
  if (type != expected.type && !nak) return drop(unexpected_type, "not the type expected now");
  // RFC 2131 table 3: OFFER, ACK and NAK all carry the server identifier.
  if (!reply.server_identifier) return drop(incomplete, "no server identifier");
  if (expected.server && *reply.server_identifier != *expected.server) return drop(wrong_server, "another server");
  if (nak) return true;
  if (!usable_host_address(reply.yiaddr)) return drop(bad_address, "unusable yiaddr");
  if (type == DhcpMessageType::ack && !reply.ip_address_lease_time) return drop(incomplete, "no lease time");
  return true;
}

Task<Result<DhcpMessage>> DhcpClient::select_offer(Instant deadline) {
  CO_TRY(new_exchange());
  auto discover = DhcpMessage::discover(m_xid, m_stack.mac(), 0);
  for (int attempt = 0;; ++attempt) {
    discover.secs = secs();
    (void)send(discover, Delivery::broadcast); // a lost DISCOVER is retransmitted
    auto retransmit_at = std::min(MonotonicClock::now() + CO_TRY(retransmission_delay(attempt)), deadline);
    auto offer = co_await receive_reply({DhcpMessageType::offer, std::nullopt}, retransmit_at);
    if (offer || offer.error() != Errc::timed_out) co_return std::move(offer);
    if (MonotonicClock::now() >= deadline) co_return fail(Errc::timed_out, "no DHCP offer");
  }
}

Task<Result<DhcpMessage>> DhcpClient::request_offered(const DhcpMessage& offer, Instant deadline) {
  auto request = DhcpMessage::request_selecting(offer, m_stack.mac(), 0);
  m_request_sent = MonotonicClock::now();
  for (int attempt = 0; attempt < selecting_requests; ++attempt) {
    request.secs = secs();
    (void)send(request, Delivery::broadcast);
    auto retransmit_at = std::min(MonotonicClock::now() + CO_TRY(retransmission_delay(attempt)), deadline);
    auto reply = co_await receive_reply({DhcpMessageType::ack, offer.server_identifier}, retransmit_at);
    if (reply || reply.error() != Errc::timed_out) co_return std::move(reply);
    if (MonotonicClock::now() >= deadline) break;
  }
  co_return fail(Errc::timed_out, "no DHCP ACK");
}

Task<Result<void>> DhcpClient::acquire(Instant deadline) {
  CO_TRY(open_socket());
  while (true) {
    auto offer = CO_TRY(co_await select_offer(deadline));
    dhcp_log.debug("offer of {} from {}", offer.yiaddr, offer.server_identifier);
    auto reply = co_await request_offered(offer, deadline);
    if (!reply) {
      if (reply.error() != Errc::timed_out || MonotonicClock::now() >= deadline)
        co_return std::unexpected(reply.error());
      // RFC 2131 §4.4.1: neither ACK nor NAK after the retransmissions: back to INIT.
      dhcp_log.info("no answer to the request for {}; discovering again", offer.yiaddr);
      continue;
    }
    if (reply->message_type == DhcpMessageType::nak) {
      naks.increment();
      dhcp_log.info("{} refused the request for {} (NAK); discovering again", reply->server_identifier, offer.yiaddr);
      continue;
    }
    bind(*reply);
    co_return Result<void>{};
  }
}

Task<Result<DhcpMessage>> DhcpClient::extend(Delivery delivery, Instant until) {
  CO_TRY(new_exchange());
  m_request_sent = MonotonicClock::now();
  auto address = m_lease->config.address.address;
  auto request = delivery == Delivery::unicast_to_server
                     ? DhcpMessage::request_renewing(m_xid, m_stack.mac(), address, 0)
                     : DhcpMessage::request_rebinding(m_xid, m_stack.mac(), address, 0);
  // RENEWING hears only the server that granted the lease; REBINDING any.
  std::optional<Ipv4Address> server;
  if (delivery == Delivery::unicast_to_server) server = m_lease->server;
  while (true) {
    auto now = MonotonicClock::now();
    if (now >= until) co_return fail(Errc::timed_out, "lease not extended");
    request.secs = secs();
    (void)send(request, delivery);
    // RFC 2131 §4.4.5: retransmit after half the time remaining, but not sooner than 60 s.
    auto wait = std::max<Duration>((until - now) / 2, min_renewal_retransmission);
    auto reply = co_await receive_reply({DhcpMessageType::ack, server}, std::min(now + wait, until));
    if (reply || reply.error() != Errc::timed_out) co_return std::move(reply);
  }
}

void DhcpClient::bind(const DhcpMessage& ack) {
  DhcpLease lease;
  lease.server = *ack.server_identifier;
  lease.config.address.address = ack.yiaddr;
  Result<std::uint8_t> prefix = fail(Errc::not_found);
  if (ack.subnet_mask) prefix = prefix_length_of(*ack.subnet_mask);
  lease.config.address.prefix_length = prefix ? *prefix : classful_prefix(ack.yiaddr);
  if (!ack.routers.empty() && usable_host_address(ack.routers[0])) lease.config.gateway = ack.routers[0];
  for (auto server : ack.domain_name_servers) lease.config.dns_servers.push_back(server);

  auto seconds = *ack.ip_address_lease_time;
  if (seconds != DhcpMessage::infinite_lease) {
    // RFC 2131 §4.4.5: T1 defaults to half the lease, T2 to 7/8; times run from the REQUEST.
    lease.lease_time = std::chrono::seconds(seconds);
    Duration t2 = ack.rebinding_time_value ? std::chrono::seconds(*ack.rebinding_time_value) : lease.lease_time / 8 * 7;
    Duration t1 = ack.renewal_time_value ? std::chrono::seconds(*ack.renewal_time_value) : lease.lease_time / 2;
    // A T2 past expiry or a T1 past T2 would never fire.
    if (t2 > lease.lease_time) t2 = lease.lease_time / 8 * 7;
    if (t1 > t2) t1 = std::min<Duration>(lease.lease_time / 2, t2);
    lease.renew_at = m_request_sent + t1;
    lease.rebind_at = m_request_sent + t2;
    lease.expires_at = m_request_sent + lease.lease_time;
  }

  leases_bound.increment();
  dhcp_log.info("lease bound: address {} gateway {} lease {} s from {}", lease.config.address, lease.config.gateway,
                seconds, lease.server);
  if (!same_config(lease.config, m_stack.config())) m_stack.set_config(lease.config);
  m_lease = std::move(lease);
}

void DhcpClient::drop_lease() {
  m_lease.reset();
  m_stack.set_config(Ipv4Config{});
}

Task<void> DhcpClient::maintain() {
  while (true) {
    if (!m_lease) {
      if (auto acquired = co_await acquire(far_future); !acquired) {
        dhcp_log.warn("no lease: {}", acquired.error());
        (void)co_await sleep_for(retry_after_failure);
      }
      continue;
    }
    (void)co_await sleep_until(m_lease->renew_at);
    auto reply = co_await extend(Delivery::unicast_to_server, m_lease->rebind_at);
    if (!reply) reply = co_await extend(Delivery::broadcast, m_lease->expires_at);
    if (reply && reply->message_type == DhcpMessageType::ack) {
      bind(*reply);
      continue;
    }
    if (reply) {
      naks.increment();
      dhcp_log.warn("{} refused to extend the lease of {} (NAK)", reply->server_identifier,
                    m_lease->config.address.address);
    } else {
      if (reply.error() != Errc::timed_out) {
        dhcp_log.warn("lease not extended: {}", reply.error());
        (void)co_await sleep_until(m_lease->expires_at);
      }
      leases_expired.increment();
      dhcp_log.warn("lease of {} expired", m_lease->config.address.address);
    }
    drop_lease();
  }
}

Result<void> DhcpClient::release() {
  if (!m_lease) return fail(Errc::not_found, "no DHCP lease to release");
  TRY(new_exchange());
  auto release = DhcpMessage::release(m_xid, m_stack.mac(), m_lease->config.address.address, m_lease->server);
  auto sent = send(release, Delivery::unicast_to_server);
  dhcp_log.info("released {}", m_lease->config.address.address);
  drop_lease();
  return sent;
}

} // namespace morgana::net
