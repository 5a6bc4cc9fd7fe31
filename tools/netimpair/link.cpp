#include "link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace netimpair {
namespace {

std::unexpected<std::string> system_error(const std::string& what) {
  return std::unexpected(what + ": " + std::strerror(errno));
}

// Enters a network namespace for as long as it lives: a tap's fd and a packet
// socket belong to the namespace they were opened in.
class NamespaceScope {
public:
  static std::expected<NamespaceScope, std::string> enter(const std::string& netns) {
    if (netns.empty()) return NamespaceScope(-1);
    std::string path = netns.find('/') == std::string::npos ? "/run/netns/" + netns : netns;
    int original = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (original < 0) return system_error("cannot open /proc/thread-self/ns/net");
    int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      auto failure = system_error("cannot open network namespace " + path);
      ::close(original);
      return failure;
    }
    int status = setns(target, CLONE_NEWNET);
    auto failure = system_error("cannot enter network namespace " + path);
    ::close(target);
    if (status != 0) {
      ::close(original);
      return failure;
    }
    return NamespaceScope(original);
  }

  NamespaceScope(NamespaceScope&& other) noexcept : m_original(std::exchange(other.m_original, -1)) {}
  NamespaceScope& operator=(NamespaceScope&&) = delete;
  NamespaceScope(const NamespaceScope&) = delete;
  NamespaceScope& operator=(const NamespaceScope&) = delete;

  ~NamespaceScope() {
    if (m_original < 0) return;
    // Staying in the wrong namespace would open the other link there: stop instead.
    if (setns(m_original, CLONE_NEWNET) != 0) std::abort();
    ::close(m_original);
  }

private:
  explicit NamespaceScope(int original) : m_original(original) {}

  int m_original;
};

std::expected<int, std::string> open_tap(const std::string& interface) {
  // TUNSETIFF would create a new tap for an unknown name; the test made the one it means.
  if (if_nametoindex(interface.c_str()) == 0)
    return std::unexpected("no interface " + interface + " here (create it with: ip tuntap add dev " + interface +
                           " mode tap)");
  int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return system_error("cannot open /dev/net/tun");
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(request.ifr_name, interface.data(), interface.size());
  if (ioctl(fd, TUNSETIFF, &request) < 0) {
    auto failure = system_error("cannot attach to tap " + interface + " (not a tap, or in use?)");
    ::close(fd);
    return failure;
  }
  return fd;
}

std::expected<int, std::string> open_packet_socket(const std::string& interface) {
  unsigned index = if_nametoindex(interface.c_str());
  if (index == 0) return system_error("no interface " + interface);
  // Protocol 0 receives nothing until bind() names the interface, so no frame
  // of another interface slips in between.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return system_error("cannot open an AF_PACKET socket");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
    auto failure = system_error("cannot set PACKET_IGNORE_OUTGOING");
    ::close(fd);
    return failure;
  }
  // Frames come with a VirtioNetHeader saying what their sender left to the
  // device (a tap's writer with TSO or checksum offload), so netimpair can
  // finish them (finish_offloads); without it they would pass with their
  // checksums unfilled, or 64 KiB long.
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) != 0) {
    auto failure = system_error("cannot set PACKET_VNET_HDR");
    ::close(fd);
    return failure;
  }
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(index);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    auto failure = system_error("cannot bind an AF_PACKET socket to " + interface);
    ::close(fd);
    return failure;
  }
  return fd;
}

} // namespace

std::expected<Link, std::string> Link::open(const LinkSpec& spec) {
  auto scope = NamespaceScope::enter(spec.netns);
  if (!scope) return std::unexpected(scope.error());
  auto fd = spec.kind == LinkKind::tap ? open_tap(spec.interface) : open_packet_socket(spec.interface);
  if (!fd) return std::unexpected(fd.error());
  std::string name = (spec.kind == LinkKind::packet ? "packet:" : "") + spec.interface;
  if (!spec.netns.empty()) name += "@" + spec.netns;
  return Link(*fd, spec.kind, std::move(name));
}

Link::Link(Link&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_kind(other.m_kind), m_name(std::move(other.m_name)),
      m_pending(std::move(other.m_pending)) {}

Link::~Link() {
  if (m_fd >= 0) ::close(m_fd);
}

std::expected<std::optional<std::size_t>, std::string> Link::receive(std::span<std::byte> buffer) {
  while (true) {
    if (!m_pending.empty()) {
      // The segments of a frame cut by finish_offloads, one a call.
      Frame next = std::move(m_pending.front());
      m_pending.pop_front();
      if (next.size() > buffer.size()) continue;
      std::memcpy(buffer.data(), next.data(), next.size());
      return next.size();
    }
    ssize_t length = 0;
    if (m_kind == LinkKind::tap) {
      length = ::read(m_fd, buffer.data(), buffer.size());
    } else {
      sockaddr_ll from{};
      std::byte header[VirtioNetHeader::size]{};
      iovec pieces[2] = {{header, sizeof header}, {buffer.data(), buffer.size()}};
      msghdr message{};
      message.msg_name = &from;
      message.msg_namelen = sizeof from;
      message.msg_iov = pieces;
      message.msg_iovlen = 2;
      length = recvmsg(m_fd, &message, MSG_TRUNC);
      // PACKET_IGNORE_OUTGOING already hides them; this keeps older kernels right too.
      if (length >= 0 && from.sll_pkttype == PACKET_OUTGOING) continue;
      if (length >= 0 && static_cast<std::size_t>(length) < sizeof header) continue;
      if (length >= 0) length -= static_cast<ssize_t>(sizeof header);
      if (length > static_cast<ssize_t>(buffer.size())) continue; // cannot happen below 64 KiB frames
      if (auto offloaded = VirtioNetHeader::parse(header); length >= 0 && (offloaded.flags || offloaded.gso_type)) {
        for (auto& frame : finish_offloads(buffer.first(static_cast<std::size_t>(length)), offloaded))
          m_pending.push_back(std::move(frame));
        continue;
      }
    }
    if (length >= 0) return static_cast<std::size_t>(length);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    return system_error("cannot read from " + m_name);
  }
}

bool Link::send(std::span<const std::byte> frame) {
  while (true) {
    // A packet socket with PACKET_VNET_HDR takes a header too: zero, nothing offloaded.
    std::byte header[VirtioNetHeader::size]{};
    iovec pieces[2] = {{header, sizeof header}, {const_cast<std::byte*>(frame.data()), frame.size()}};
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = 2;
    ssize_t written =
        m_kind == LinkKind::tap ? ::write(m_fd, frame.data(), frame.size()) : ::sendmsg(m_fd, &message, MSG_DONTWAIT);
    if (m_kind != LinkKind::tap && written >= static_cast<ssize_t>(sizeof header))
      written -= static_cast<ssize_t>(sizeof header);
    if (written < 0 && errno == EINTR) continue;
    return written == static_cast<ssize_t>(frame.size());
  }
}

} // namespace netimpair
