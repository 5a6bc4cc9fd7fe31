// Parses the input as a DHCP message, as the client does with every datagram
// on port 68. What parses must write back within maximum_size, padded to the
// BOOTP minimum, and reparse to the same fields; what fails must say why.
// Building a message from the parsed one (as the client does from an offer)
// must round-trip as well.

#include <array>
#include <cstdint>
#include <cstdlib>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/net/dhcp_message.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Writes `message` and parses it back; the result must equal the original.
void check_round_trip(const DhcpMessage& message) {
  std::array<std::byte, DhcpMessage::maximum_size> buffer;
  ByteWriter writer(buffer);
  message.write(writer);
  auto written = writer.finish();
  check(written.has_value());
  check(written->size() >= DhcpMessage::bootp_minimum_size);
  auto again = DhcpMessage::parse(*written);
  check(again.has_value());
  check(*again == message);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto message = DhcpMessage::parse(input);
  if (!message) {
    check(message.error() == Errc::truncated || message.error() == Errc::malformed);
    check(!message.error().context.empty());
    return 0;
  }
  check(size >= DhcpMessage::minimum_size);
  check(message->routers.size() <= decltype(message->routers)::capacity);
  StringBuilder<64> text;
  if (message->message_type) format_to(text, "{}", *message->message_type);
  check_round_trip(*message);
  if (auto mac = message->client_mac()) check_round_trip(DhcpMessage::request_selecting(*message, *mac, message->secs));
  return 0;
}
