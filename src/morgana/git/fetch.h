#pragma once

// What a fetch asks for and what it learns, the same in protocol v0 and v2.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"

namespace morgana::git {

// Haves beyond this many are not sent: the negotiation is one round
// (every have, then done), and a pack slightly larger than needed is cheaper
// than more rounds.
inline constexpr std::size_t max_haves = 256;
// Wants (and shallow lines) beyond this many are refused with Errc::limit_reached.
inline constexpr std::size_t max_wants = 4096;

struct FetchRequest {
  std::vector<std::string> wants;   // 40-hex ids the pack must lead to
  std::vector<std::string> haves;   // ids the client has, most recent first
  std::vector<std::string> shallow; // commits the client holds without their parents
  std::uint32_t depth = 0;          // "deepen N": commits of history to fetch; 0 for all
  bool ofs_delta = true;            // deltas may name their base by offset
  bool thin_pack = false;           // deltas may use bases the client has (not in the pack)
  bool include_tag = true;          // annotated tags pointing into the pack come along
  bool progress = false;            // the server's progress messages (logged at debug)
};

struct FetchResult {
  std::vector<std::string> common;    // haves the server acknowledged
  std::vector<std::string> shallow;   // commits that are now shallow boundaries
  std::vector<std::string> unshallow; // commits that are no longer
  std::uint64_t pack_bytes = 0;       // bytes handed to the sink
};

// Checks the request's ids and sizes: Errc::invalid_argument for an id that is
// not 40 hex digits or no wants, Errc::limit_reached beyond max_wants.
[[nodiscard]] Result<void> check_request(const FetchRequest& request);

// For response parsers: the id after "keyword " in `line` ("shallow <id>"),
// or nullopt when the line does not start so; Errc::malformed when what
// follows is not an id.
[[nodiscard]] Result<std::optional<std::string_view>> id_after(std::string_view line, std::string_view keyword);
// "shallow <id>" and "unshallow <id>" into the result; false for other lines.
[[nodiscard]] Result<bool> add_shallow_line(FetchResult& result, std::string_view line);

} // namespace morgana::git
