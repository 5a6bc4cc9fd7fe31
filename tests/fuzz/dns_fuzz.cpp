// Parses the input as a DNS response, as the resolver does with a reply, and
// checks what a parse promises: every name fits in 255 bytes with labels of
// at most 63, formatting never overruns, and A records come only with NOERROR.
// Then reads a name at every offset, the way a compression pointer could
// lead there, to reach the name reader from starts the message parser skips.

#include <cstdint>
#include <cstdlib>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/net/dns_message.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_name(const DnsName& name) {
  auto wire = name.wire();
  check(!wire.empty() && wire.size() <= DnsName::max_wire_length);
  std::size_t at = 0;
  while (true) {
    check(at < wire.size());
    auto length = std::to_integer<std::size_t>(wire[at]);
    if (length == 0) break;
    check(length <= DnsName::max_label_length);
    at += length + 1;
  }
  check(at + 1 == wire.size());
  // Every byte escaped as \DDD is four characters: 4 * 255 fits.
  StringBuilder<4 * DnsName::max_wire_length + 1> text;
  name.format(text);
  check(text.view().size() < 4 * DnsName::max_wire_length + 1);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  if (auto message = DnsMessage::parse(input)) {
    check(message->questions().size() == message->header().qdcount);
    check(message->answers().size() == message->header().ancount);
    for (const auto& question : message->questions()) check_name(question.qname);
    for (const auto& record : message->answers()) {
      check_name(record.name);
      check_name(record.cname);
      check(record.ttl <= 0x7fffffff);
    }
    for (const auto& question : message->questions()) {
      auto addresses = message->a_records(question.qname);
      if (addresses) {
        check(message->header().rcode == dns::rcode_no_error);
        check(!addresses->empty());
      }
    }
  }
  for (std::size_t offset = DnsHeader::size; offset < size; ++offset) {
    ByteReader reader(input);
    if (!reader.seek(offset)) break;
    if (auto name = DnsName::read(reader)) {
      check_name(*name);
      check(reader.position() > offset && reader.position() <= size);
    } else {
      check(reader.position() == offset);
    }
  }
  return 0;
}
