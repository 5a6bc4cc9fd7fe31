#include "morgana/core/mac_address.h"

#include "morgana/core/args.h"
#include "morgana/core/ascii.h"
#include "morgana/core/bytes.h"

namespace morgana {

Result<void> MacAddress::read(ByteReader& reader) {
  auto bytes = TRY(reader.bytes(6));
  for (int i = 0; i < 6; ++i) octets[i] = std::to_integer<std::uint8_t>(bytes[i]);
  return {};
}

void MacAddress::write(ByteWriter& writer) const {
  for (auto octet : octets) writer.u8(octet);
}

void MacAddress::format(FormatSink& sink) const {
  for (int i = 0; i < 6; ++i) {
    if (i) sink.put(':');
    Hex{octets[i], 2}.format(sink);
  }
}

Result<void> parse_value(std::string_view text, MacAddress& out) {
  if (text.size() != 17) return fail(Errc::invalid_argument, "expected a MAC address like 52:54:00:12:34:56");
  for (int i = 0; i < 6; ++i) {
    int high = ascii::hex_digit_value(text[3 * i]);
    int low = ascii::hex_digit_value(text[3 * i + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[3 * i + 2] != ':'))
      return fail(Errc::invalid_argument, "expected a MAC address like 52:54:00:12:34:56");
    out.octets[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return {};
}

} // namespace morgana
