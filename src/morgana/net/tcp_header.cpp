#include "morgana/net/tcp_header.h"

#include <algorithm>

#include "morgana/net/ipv4_header.h"
#include "morgana/net/transport_checksum.h"

namespace morgana::net {
namespace {

// Option lengths, kind and length bytes included.
constexpr std::size_t mss_length = 4;            // RFC 9293 §3.2
constexpr std::size_t window_scale_length = 3;   // RFC 7323 §2.2
constexpr std::size_t sack_permitted_length = 2; // RFC 2018 §2
constexpr std::size_t timestamps_length = 10;    // RFC 7323 §3.2
constexpr std::size_t sack_base_length = 2;      // RFC 2018 §3
constexpr std::size_t sack_block_length = 8;     // RFC 2018 §3

// How write() lays out a header's options: which SACK blocks fit, and whether
// each option is NOP-aligned to 4 bytes or the options are packed.
struct OptionLayout {
  bool aligned = true;
  std::size_t sack_blocks = 0;
  std::size_t padding = 0; // NOPs after the last option
  std::size_t length = 0;  // padding included
};

// The option bytes before end padding; mirrors write_options.
std::size_t unpadded_length(const TcpHeader& header, bool aligned, std::size_t sack_blocks) {
  auto nops = [aligned](std::size_t count) { return aligned ? count : 0; };
  std::size_t length = 0;
  if (header.mss) length += mss_length;
  // Alone, SACK-permitted and timestamps each take two NOPs; together they fill 12 bytes.
  if (header.sack_permitted) length += sack_permitted_length + (header.timestamps ? 0 : nops(2));
  if (header.timestamps) length += timestamps_length + (header.sack_permitted ? 0 : nops(2));
  if (header.window_scale) length += nops(1) + window_scale_length;
  if (sack_blocks) length += nops(2) + sack_base_length + sack_block_length * sack_blocks;
  return length;
}

OptionLayout plan_options(const TcpHeader& header) {
  for (std::size_t blocks = header.sack().size();; --blocks) {
    for (bool aligned : {true, false}) {
      auto unpadded = unpadded_length(header, aligned, blocks);
      auto length = (unpadded + 3) / 4 * 4;
      // Packed without SACK blocks is at most 19 bytes, so the search ends there.
      if (length <= TcpHeader::maximum_options_size || (blocks == 0 && !aligned))
        return {aligned, blocks, length - unpadded, length};
    }
  }
}

void write_options(ByteWriter& writer, const TcpHeader& header, const OptionLayout& layout) {
  auto nops = [&](std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) writer.u8(tcp_option::no_operation);
  };
  auto align = [&](std::size_t count) { nops(layout.aligned ? count : 0); };
  if (header.mss) {
    writer.u8(tcp_option::maximum_segment_size);
    writer.u8(mss_length);
    writer.u16(*header.mss);
  }
  if (header.sack_permitted) {
    if (!header.timestamps) align(2);
    writer.u8(tcp_option::sack_permitted);
    writer.u8(sack_permitted_length);
  }
  if (header.timestamps) {
    if (!header.sack_permitted) align(2);
    writer.u8(tcp_option::timestamps);
    writer.u8(timestamps_length);
    writer.u32(header.timestamps->value);
    writer.u32(header.timestamps->echo_reply);
  }
  if (header.window_scale) {
    align(1);
    writer.u8(tcp_option::window_scale);
    writer.u8(window_scale_length);
    writer.u8(*header.window_scale);
  }
  if (layout.sack_blocks) {
    align(2);
    writer.u8(tcp_option::sack);
    writer.u8(static_cast<std::uint8_t>(sack_base_length + sack_block_length * layout.sack_blocks));
    for (const auto& block : header.sack().first(layout.sack_blocks)) {
      writer.u32(block.left.value());
      writer.u32(block.right.value());
    }
  }
  nops(layout.padding);
}

// One option's body (after kind and length). A body whose length the option's
// definition forbids leaves the header as it was.
void read_option(std::uint8_t kind, ByteReader body, TcpHeader& header) {
  auto length = body.remaining() + 2;
  switch (kind) {
  case tcp_option::maximum_segment_size:
    if (length == mss_length) header.mss = MUST(body.u16());
    break;
  case tcp_option::window_scale:
    if (length == window_scale_length) header.window_scale = std::min(MUST(body.u8()), TcpHeader::maximum_window_scale);
    break;
  case tcp_option::sack_permitted:
    if (length == sack_permitted_length) header.sack_permitted = true;
    break;
  case tcp_option::timestamps:
    if (length == timestamps_length) header.timestamps = TcpTimestamps{MUST(body.u32()), MUST(body.u32())};
    break;
  case tcp_option::sack: {
    auto blocks = (length - sack_base_length) / sack_block_length;
    if ((length - sack_base_length) % sack_block_length != 0 || blocks == 0 || blocks > TcpHeader::maximum_sack_blocks)
      break;
    for (std::size_t i = 0; i < blocks; ++i) {
      auto left = SequenceNumber(MUST(body.u32()));
      header.sack_blocks[i] = {left, SequenceNumber(MUST(body.u32()))};
    }
    header.sack_block_count = static_cast<std::uint8_t>(blocks);
    break;
  }
  default:
    // RFC 9293 §3.1 (MUST-6): options we do not implement are skipped by their length.
    break;
  }
}

// RFC 9293 §3.1: the option list ends at End of Option List or at the data
// offset; every kind but EOL and NOP has a length byte covering kind and length.
Result<void> parse_options(ByteReader options, TcpHeader& header) {
  while (!options.at_end()) {
    auto kind = MUST(options.u8());
    if (kind == tcp_option::end_of_option_list) break;
    if (kind == tcp_option::no_operation) continue;
    auto length = options.u8();
    if (!length) return fail(Errc::malformed, "TCP option without a length byte");
    if (*length < 2) return fail(Errc::malformed, "TCP option length below 2");
    auto body = options.sub(*length - 2u);
    if (!body) return fail(Errc::malformed, "TCP option runs past the data offset");
    read_option(kind, *body, header);
  }
  return {};
}

} // namespace

Result<TcpHeader> TcpHeader::parse(ByteReader& reader) {
  ByteReader segment = reader;
  auto available = segment.remaining();
  if (available < minimum_size) return fail(Errc::truncated, "TCP segment shorter than 20 bytes");
  TcpHeader header;
  header.source_port = TRY(segment.u16());
  header.destination_port = TRY(segment.u16());
  header.sequence = SequenceNumber(TRY(segment.u32()));
  header.acknowledgment = SequenceNumber(TRY(segment.u32()));
  // The data offset counts 32-bit words; the low four bits are reserved.
  header.data_offset = static_cast<std::uint8_t>((TRY(segment.u8()) >> 4) * 4);
  header.flags = TRY(segment.u8());
  header.window = TRY(segment.u16());
  header.checksum = TRY(segment.u16());
  header.urgent_pointer = TRY(segment.u16());
  if (header.data_offset < minimum_size) return fail(Errc::malformed, "TCP data offset below 5 words");
  if (header.data_offset > available) return fail(Errc::truncated, "TCP data offset beyond the segment");
  auto options = TRY(segment.sub(header.data_offset - minimum_size));
  TRY(parse_options(options, header));
  reader = segment;
  return header;
}

std::size_t TcpHeader::options_length() const { return plan_options(*this).length; }

void TcpHeader::write(ByteWriter& writer) const {
  auto layout = plan_options(*this);
  writer.u16(source_port);
  writer.u16(destination_port);
  writer.u32(sequence.value());
  writer.u32(acknowledgment.value());
  writer.u8(static_cast<std::uint8_t>((minimum_size + layout.length) / 4 << 4));
  writer.u8(flags);
  writer.u16(window);
  writer.u16(checksum);
  writer.u16(urgent_pointer);
  write_options(writer, *this, layout);
}

void TcpHeader::format(FormatSink& sink) const {
  format_to(sink, "{} > {} [", source_port, destination_port);
  // tcpdump's letters, in bit order: F S R P . U E W.
  constexpr std::string_view letters = "FSRP.UEW";
  if (flags == 0) sink.write("none");
  for (std::size_t bit = 0; bit < letters.size(); ++bit)
    if (flags & (1u << bit)) sink.put(letters[bit]);
  format_to(sink, "] seq={}", sequence);
  if (has(tcp_flag::ack)) format_to(sink, " ack={}", acknowledgment);
  format_to(sink, " win={}", window);
  if (has(tcp_flag::urg)) format_to(sink, " urp={}", urgent_pointer);
  if (mss) format_to(sink, " mss={}", *mss);
  if (sack_permitted) sink.write(" sackOK");
  if (timestamps) format_to(sink, " ts={}/{}", timestamps->value, timestamps->echo_reply);
  if (window_scale) format_to(sink, " wscale={}", *window_scale);
  if (sack_block_count) sink.write(" sack=");
  for (const auto& block : sack()) format_to(sink, "{{{}:{}}}", block.left, block.right);
}

std::uint16_t tcp_checksum(Ipv4Address source, Ipv4Address destination, Bytes segment) {
  return transport_checksum(source, destination, ip_protocol::tcp, segment);
}

} // namespace morgana::net
