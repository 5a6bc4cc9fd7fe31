#pragma once

// A server's capabilities: v0/v1 send them space-separated after a NUL on the
// first ref line (gitprotocol-capabilities), v2 one per line of its
// advertisement (gitprotocol-v2 "Capability Advertisement"). Either way an
// entry is "key" or "key=value".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"

namespace morgana::git {

class Capabilities {
public:
  // More than this many entries is Errc::limit_reached.
  static constexpr std::size_t max_entries = 256;

  // The v0 list: "multi_ack side-band-64k symref=HEAD:refs/heads/main ...".
  [[nodiscard]] static Result<Capabilities> parse_v0(std::string_view list);
  // One entry (a v2 advertisement line without its LF).
  [[nodiscard]] Result<void> add(std::string_view entry);

  [[nodiscard]] bool has(std::string_view key) const;
  // The value of "key=value"; "" for a bare key; nullopt when absent. The
  // first entry wins when a key repeats (except symref, see all_values).
  [[nodiscard]] std::optional<std::string_view> value(std::string_view key) const;
  // Every value of a repeated key (v0's several symref=...).
  [[nodiscard]] std::vector<std::string_view> all_values(std::string_view key) const;
  // Whether the space-separated value of `key` lists `feature` (v2's
  // "fetch=shallow wait-for-done"; "ls-refs=unborn").
  [[nodiscard]] bool has_feature(std::string_view key, std::string_view feature) const;

  // Ok for SHA-1 repositories (no object-format, or sha1); Errc::unsupported
  // for sha256 or anything else.
  [[nodiscard]] Result<void> check_object_format() const;

  [[nodiscard]] const std::vector<std::string>& entries() const { return m_entries; }

private:
  std::vector<std::string> m_entries;
};

} // namespace morgana::git
