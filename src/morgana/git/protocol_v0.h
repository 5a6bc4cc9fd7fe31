#pragma once

// Protocol v0/v1 (gitprotocol-pack): the reference advertisement with the
// capabilities after a NUL on its first line, the upload-request (wants with
// capabilities, shallow, deepen, flush, haves, done), the ACK/NAK lines and
// the pack, over side-band-64k when the server offers it.

#include <cstddef>
#include <cstdint>
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

// The reference advertisement, fed line by line up to its flush. Smart HTTP's
// "# service=git-upload-pack" line and its flush, and v1's "version 1", are
// the caller's to skip.
class RefAdvertisement {
public:
  // More refs than this is Errc::limit_reached.
  static constexpr std::size_t max_refs = 100'000;

  // One data line's text. Errc::malformed for a line that is neither
  // "id name", "id name^{}" after its tag, nor "shallow id".
  [[nodiscard]] Result<void> add_line(std::string_view line);
  // At the flush: applies symref=NAME:TARGET capabilities to their refs.
  void finish();

  [[nodiscard]] const std::vector<Ref>& refs() const { return m_refs; }
  [[nodiscard]] std::vector<Ref>& refs() { return m_refs; }
  [[nodiscard]] const Capabilities& capabilities() const { return m_capabilities; }
  // Commits the server's own repository holds as shallow.
  [[nodiscard]] const std::vector<std::string>& shallow() const { return m_shallow; }

private:
  std::vector<Ref> m_refs;
  Capabilities m_capabilities;
  std::vector<std::string> m_shallow;
  bool m_first = true;
};

enum class SideBand : std::uint8_t { none, side_band, side_band_64k };

// The upload-request for `request` and the capabilities this client asks
// for among those `server` offers; Errc::unsupported for a depth without
// the server's "shallow". The request ends with "done": one round.
[[nodiscard]] Result<std::string> build_upload_request(const FetchRequest& request, const Capabilities& server,
                                                       std::string_view agent);
// What the request above chose.
[[nodiscard]] SideBand chosen_side_band(const Capabilities& server);

// The server's answer to the upload-request: shallow updates (when a depth
// or shallow lines were sent) ended by a flush, ACK/NAK lines up to a final
// "NAK" or "ACK id", then the pack.
class FetchResponseV0 {
public:
  FetchResponseV0(PackDataSink sink, SideBand side_band, bool expect_shallow_update)
      : m_demux(std::move(sink)), m_side_band(side_band),
        m_state(expect_shallow_update ? State::shallow_update : State::acknowledgments) {}

  // The next pkt-line; true once the response is complete. Without
  // side-band the pack is not framed: once raw() is true, hand every further
  // byte to on_raw() until the end of the stream.
  [[nodiscard]] Result<bool> on_line(const PktLine& line);
  [[nodiscard]] bool raw() const { return m_state == State::raw_pack; }
  [[nodiscard]] Result<void> on_raw(Bytes data) { return m_demux.on_raw(data); }
  // The end of the stream: Ok only when the pack was complete (or raw).
  [[nodiscard]] Result<void> on_end();

  [[nodiscard]] const FetchResult& result() const { return m_result; }
  [[nodiscard]] std::string_view error_text() const { return m_demux.error_text(); }

private:
  enum class State : std::uint8_t { shallow_update, acknowledgments, pack, raw_pack, done };
  [[nodiscard]] Result<void> on_acknowledgment(std::string_view line);

  SideBandDemux m_demux;
  SideBand m_side_band;
  State m_state;
  FetchResult m_result;
};

} // namespace morgana::git
