#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "morgana/core/task.h"
#include "morgana/core/time.h"
#include "morgana/net/dhcp_message.h"
#include "morgana/net/stack.h"
#include "morgana/net/udp.h"

namespace morgana::net {

// A bound lease: the configuration it installs and its times (RFC 2131 §4.4.5).
struct DhcpLease {
  Ipv4Config config;
  Ipv4Address server; // the server identifier of the server that granted it
  Duration lease_time{};
  Instant renew_at = far_future;  // T1
  Instant rebind_at = far_future; // T2
  Instant expires_at = far_future;
};

// The DHCPv4 client state machine (RFC 2131 §4.4, figure 5) on UDP port 68.
class DhcpClient {
public:
  // RFC 2131 §4.1: the first retransmission after 4 s, doubling up to 64 s, each +-1 s.
  static constexpr Duration first_retransmission = std::chrono::seconds(4);
  static constexpr Duration max_retransmission = std::chrono::seconds(64);
  // REQUESTs in SELECTING before going back to INIT (RFC 2131 §4.4.1): 4+8+16+32 s.
  static constexpr int selecting_requests = 4;
  // RFC 2131 §4.4.5: in RENEWING/REBINDING, retransmit after half the remaining time, at least this.
  static constexpr Duration min_renewal_retransmission = std::chrono::seconds(60);
  // After acquire fails in maintain() (no entropy, port in use), before the next attempt.
  static constexpr Duration retry_after_failure = std::chrono::seconds(10);

  explicit DhcpClient(Stack& stack);
  DhcpClient(const DhcpClient&) = delete;
  DhcpClient& operator=(const DhcpClient&) = delete;

  // DISCOVER -> OFFER -> REQUEST -> ACK with retransmissions; installs the
  // address, prefix, gateway and DNS servers through stack.set_config().
  // Errc::timed_out at the deadline. A NAK restarts from DISCOVER.
  [[nodiscard]] Task<Result<void>> acquire(Instant deadline);
  // After acquire: renews at T1 (unicast REQUEST to the server), rebinds at T2
  // (broadcast), and at expiry removes the address and acquires again. Runs forever.
  Task<void> maintain();
  // Gives the lease back (RFC 2131 §4.4.6) and removes the address. For
  // shutdown: destroy the maintain() task first, or it acquires a new lease.
  [[nodiscard]] Result<void> release();

  [[nodiscard]] const std::optional<DhcpLease>& lease() const { return m_lease; }

private:
  // What a reply must be to be taken in the current state.
  struct Expectation {
    DhcpMessageType type;              // OFFER, or ACK (NAK is taken with ACK)
    std::optional<Ipv4Address> server; // the chosen server, when one is
  };
  enum class Delivery : std::uint8_t { broadcast, unicast_to_server };

  [[nodiscard]] Result<void> open_socket();
  [[nodiscard]] Result<void> new_exchange();
  [[nodiscard]] std::uint16_t secs() const;
  [[nodiscard]] Result<Duration> retransmission_delay(int attempt) const;
  // Broadcasts from our address (0.0.0.0 while unconfigured) or unicasts to the
  // lease's server. Failures are counted; retransmission covers them.
  [[nodiscard]] Result<void> send(const DhcpMessage& message, Delivery delivery);
  // The next reply that meets `expected`, counting every one dropped; Errc::timed_out at `until`.
  [[nodiscard]] Task<Result<DhcpMessage>> receive_reply(Expectation expected, Instant until);
  [[nodiscard]] bool acceptable(const DhcpMessage& reply, const Expectation& expected) const;

  [[nodiscard]] Task<Result<DhcpMessage>> select_offer(Instant deadline);
  [[nodiscard]] Task<Result<DhcpMessage>> request_offered(const DhcpMessage& offer, Instant deadline);
  // RENEWING or REBINDING until `until`: the ACK or NAK, or Errc::timed_out.
  [[nodiscard]] Task<Result<DhcpMessage>> extend(Delivery delivery, Instant until);
  // Takes the lease an ACK grants, timed from when the exchange's first REQUEST went out.
  void bind(const DhcpMessage& ack);
  void drop_lease();

  Stack& m_stack;
  std::unique_ptr<UdpSocket> m_socket;
  std::optional<DhcpLease> m_lease;
  std::uint32_t m_xid = 0;
  Instant m_exchange_started;
  Instant m_request_sent;
};

} // namespace morgana::net
