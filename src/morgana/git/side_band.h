#pragma once

// The side-band-64k demultiplexer (gitprotocol-pack "Packfile Data"): each
// data pkt-line of the pack stream starts with a band byte. Band 1 carries
// the packfile, band 2 the server's progress messages, band 3 a fatal error.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/pkt_line.h"

namespace morgana::git {

// Where the packfile's bytes go, piece by piece, as they arrive (the pack
// indexer). An error stops the fetch and is returned by it.
using PackDataSink = std::function<Result<void>(Bytes)>;

class SideBandDemux {
public:
  explicit SideBandDemux(PackDataSink sink) : m_sink(std::move(sink)) {}

  // One data pkt-line's payload: band 1 goes to the sink, band 2 to the
  // "git" log at debug; band 3 fails with Errc::io_error, the server's text
  // kept in error_text(). Errc::malformed for an empty line or another band.
  [[nodiscard]] Result<void> on_line(Bytes payload);
  // A pkt-line of the pack stream: true at the flush that ends it;
  // Errc::malformed for a delim or response-end inside it.
  [[nodiscard]] Result<bool> on_pkt_line(const PktLine& line);
  // Bytes that bypass the framing (a v0 pack without side-band).
  [[nodiscard]] Result<void> on_raw(Bytes data);

  [[nodiscard]] std::uint64_t pack_bytes() const { return m_pack_bytes; }
  [[nodiscard]] std::string_view error_text() const { return m_error_text; }

private:
  PackDataSink m_sink;
  std::uint64_t m_pack_bytes = 0;
  std::string m_error_text;
};

} // namespace morgana::git
