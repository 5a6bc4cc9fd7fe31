#pragma once

// Protocol v2 (gitprotocol-v2): the capability advertisement, the ls-refs
// and fetch commands, and their responses, one pkt-line at a time so that the
// same code parses what a TCP stream or an HTTP body delivers.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"
#include "morgana/git/capabilities.h"
#include "morgana/git/fetch.h"
#include "morgana/git/pkt_line.h"
#include "morgana/git/ref.h"
#include "morgana/git/side_band.h"

namespace morgana::git {

// Lines of the capability advertisement after "version 2", up to its flush.
// Errc::unsupported when the server lacks the command `command` later needs
// is checked by the caller (Capabilities::has).
[[nodiscard]] Result<void> add_v2_capability_line(Capabilities& capabilities, const PktLine& line);

struct LsRefsRequest {
  std::vector<std::string> ref_prefixes; // "refs/heads/", "HEAD"; none: every ref
  bool symrefs = true;
  bool peel = true;
};

// The command's pkt-lines: "command=ls-refs", capabilities, delim, arguments, flush.
[[nodiscard]] Result<std::string> build_ls_refs(const LsRefsRequest& request, const Capabilities& server,
                                                std::string_view agent);
// One line of the ls-refs response: "id name[ symref-target:X][ peeled:X]",
// or "unborn HEAD symref-target:X". Errc::malformed otherwise.
[[nodiscard]] Result<Ref> parse_ls_refs_line(std::string_view line);

// The fetch command. Errc::unsupported for a depth or shallow lines when the
// server lacks fetch=shallow; Errc::invalid_argument for an id that is not
// 40 hex digits; Errc::limit_reached for too many wants.
[[nodiscard]] Result<std::string> build_fetch_v2(const FetchRequest& request, const Capabilities& server,
                                                 std::string_view agent);

// The fetch response: optional acknowledgments, shallow-info and wanted-refs
// sections, then the packfile section carried over side-band-64k, ended by a
// flush.
class FetchResponseV2 {
public:
  explicit FetchResponseV2(PackDataSink sink) : m_demux(std::move(sink)) {}

  // The next pkt-line; true once the response is complete. Errc::malformed
  // for a line out of place, Errc::io_error for the server's side-band error
  // (text in error_text()), Errc::unsupported when the server ends without a
  // pack and wants another negotiation round.
  [[nodiscard]] Result<bool> on_line(const PktLine& line);

  [[nodiscard]] const FetchResult& result() const { return m_result; }
  [[nodiscard]] std::string_view error_text() const { return m_demux.error_text(); }

private:
  enum class Section : std::uint8_t { header, acknowledgments, shallow_info, wanted_refs, packfile, done };
  [[nodiscard]] Result<void> on_section_line(std::string_view line);

  SideBandDemux m_demux;
  FetchResult m_result;
  Section m_section = Section::header;
  bool m_ready = false;
};

} // namespace morgana::git
