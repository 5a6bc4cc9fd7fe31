#pragma once

#include <cstddef>
#include <deque>
#include <expected>
#include <optional>
#include <span>
#include <string>

#include "options.h"
#include "segment.h"

namespace netimpair {

// One side of the forwarder: a tap device or an AF_PACKET socket on an
// interface, opened inside its network namespace, non-blocking.
class Link {
public:
  [[nodiscard]] static std::expected<Link, std::string> open(const LinkSpec& spec);

  Link(Link&& other) noexcept;
  Link& operator=(Link&&) = delete;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link();

  [[nodiscard]] int fd() const { return m_fd; }
  [[nodiscard]] const std::string& name() const { return m_name; }

  // One frame into `buffer`: its length, or nullopt when none is waiting.
  [[nodiscard]] std::expected<std::optional<std::size_t>, std::string> receive(std::span<std::byte> buffer);
  // False when the kernel refused the frame (interface down, queue full).
  [[nodiscard]] bool send(std::span<const std::byte> frame);

private:
  Link(int fd, LinkKind kind, std::string name) : m_fd(fd), m_kind(kind), m_name(std::move(name)) {}

  int m_fd;
  LinkKind m_kind;
  std::string m_name;
  std::deque<Frame> m_pending; // segments of an offloaded frame, not yet returned
};

} // namespace netimpair
