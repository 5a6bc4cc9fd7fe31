#include "morgana/git/side_band.h"

#include "morgana/core/log.h"

namespace morgana::git {

namespace {

log::Source remote_log{"git-remote"};

enum class Band : std::uint8_t { pack = 1, progress = 2, error = 3 };

// A progress message without its line ends ("Counting objects: 50%\r").
std::string_view trim_line_ends(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

} // namespace

Result<void> SideBandDemux::on_line(Bytes payload) {
  ByteReader reader(payload);
  auto band = reader.u8();
  if (!band) return fail(Errc::malformed, "side-band line without a band byte");
  auto rest = reader.rest();
  switch (static_cast<Band>(*band)) {
  case Band::pack: return on_raw(rest);
  case Band::progress: remote_log.debug("remote: {}", trim_line_ends(as_string(rest))); return {};
  case Band::error:
    m_error_text = trim_line_ends(as_string(rest));
    return fail(Errc::io_error, "the server reported a fatal error (side-band 3)");
  }
  return fail(Errc::malformed, "side-band line on an unknown band");
}

Result<bool> SideBandDemux::on_pkt_line(const PktLine& line) {
  if (line.kind == PktKind::flush) return true;
  if (!line.is_data()) return fail(Errc::malformed, "delim or response-end inside the pack stream");
  TRY(on_line(line.payload));
  return false;
}

Result<void> SideBandDemux::on_raw(Bytes data) {
  if (data.empty()) return {};
  m_pack_bytes += data.size();
  return m_sink(data);
}

} // namespace morgana::git
