#include "morgana/net/dns_message.h"

#include <algorithm>

#include "morgana/core/ascii.h"

namespace morgana::net {
namespace {

bool is_name_character(char c) { return ascii::is_alnum(c) || c == '-' || c == '_'; }

std::byte ascii_lower(std::byte b) { return std::byte(ascii::to_lower(std::to_integer<char>(b))); }

// The two high bits of a length octet say what follows (RFC 1035 §4.1.4).
constexpr unsigned label_kind_mask = 0xc0;
constexpr unsigned label_kind_pointer = 0xc0;
constexpr unsigned label_kind_normal = 0x00;

} // namespace

Result<void> DnsName::append_label(Bytes label) {
  if (label.empty() || label.size() > max_label_length) return fail(Errc::malformed, "DNS label length");
  // The new label, its length octet, and the root octet that stays at the end.
  if (m_length + label.size() + 1 > max_wire_length) return fail(Errc::malformed, "DNS name longer than 255 bytes");
  std::size_t at = m_length - 1;
  m_wire[at] = std::byte(label.size());
  std::copy(label.begin(), label.end(), m_wire.begin() + static_cast<std::ptrdiff_t>(at + 1));
  m_length = static_cast<std::uint8_t>(m_length + label.size() + 1);
  m_wire[m_length - 1] = std::byte{0};
  return {};
}

Result<DnsName> DnsName::from_text(std::string_view text) {
  if (text.ends_with('.')) text.remove_suffix(1);
  if (text.empty()) return fail(Errc::invalid_argument, "empty DNS name");
  DnsName name;
  while (true) {
    auto dot = text.find('.');
    auto label = text.substr(0, dot);
    if (label.empty()) return fail(Errc::invalid_argument, "empty label in DNS name");
    if (label.size() > max_label_length) return fail(Errc::invalid_argument, "DNS label longer than 63 bytes");
    if (!std::ranges::all_of(label, is_name_character))
      return fail(Errc::invalid_argument, "DNS name holds a character other than letters, digits, '-', '_'");
    if (!name.append_label(as_bytes(label))) return fail(Errc::invalid_argument, "DNS name longer than 255 bytes");
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  return name;
}

Result<DnsName> DnsName::read(ByteReader& reader) {
  // Follow labels on a copy; the caller's reader moves past the name's own
  // bytes only: up to the root label or the first pointer.
  ByteReader cursor = reader;
  std::size_t end_of_name = 0;
  // Start of the run of labels being read; every pointer must lead before it,
  // so targets strictly decrease and cannot loop.
  std::size_t run_start = cursor.position();
  int jumps = 0;
  DnsName name;
  while (true) {
    auto length = TRY(cursor.u8());
    if ((length & label_kind_mask) == label_kind_pointer) {
      auto low = TRY(cursor.u8());
      std::size_t target = ((length & ~label_kind_mask) << 8) | low;
      if (target >= run_start) return fail(Errc::malformed, "DNS compression pointer does not point backwards");
      if (target < DnsHeader::size) return fail(Errc::malformed, "DNS compression pointer into the header");
      if (++jumps > max_pointer_jumps) return fail(Errc::malformed, "too many DNS compression pointers");
      if (end_of_name == 0) end_of_name = cursor.position();
      TRY(cursor.seek(target));
      run_start = target;
      continue;
    }
    if ((length & label_kind_mask) != label_kind_normal) return fail(Errc::malformed, "reserved DNS label type");
    if (length == 0) break;
    auto label = TRY(cursor.bytes(length));
    TRY(name.append_label(label));
  }
  if (end_of_name == 0) end_of_name = cursor.position();
  TRY(reader.seek(end_of_name));
  return name;
}

void DnsName::write(ByteWriter& writer) const { writer.bytes(wire()); }

void DnsName::format(FormatSink& sink) const {
  if (is_root()) {
    sink.put('.');
    return;
  }
  std::size_t at = 0;
  while (true) {
    auto length = std::to_integer<std::size_t>(m_wire[at]);
    if (length == 0) break;
    if (at) sink.put('.');
    for (std::size_t i = at + 1; i <= at + length; ++i) {
      auto c = std::to_integer<unsigned>(m_wire[i]);
      if (c == '.' || c == '\\') {
        sink.put('\\');
        sink.put(static_cast<char>(c));
      } else if (c > ' ' && c < 0x7f) {
        sink.put(static_cast<char>(c));
      } else {
        sink.put('\\');
        sink.put(static_cast<char>('0' + c / 100));
        sink.put(static_cast<char>('0' + c / 10 % 10));
        sink.put(static_cast<char>('0' + c % 10));
      }
    }
    at += length + 1;
  }
}

bool operator==(const DnsName& a, const DnsName& b) {
  // Length octets are at most 63, below 'A', so lowering them changes nothing.
  return std::ranges::equal(a.wire(), b.wire(), {}, ascii_lower, ascii_lower);
}

Result<DnsHeader> DnsHeader::parse(ByteReader& reader) {
  if (reader.remaining() < size) return fail(Errc::truncated, "DNS header");
  DnsHeader header;
  header.id = MUST(reader.u16());
  auto flags = MUST(reader.u16());
  header.qr = flags & 0x8000;
  header.opcode = static_cast<std::uint8_t>((flags >> 11) & 0xf);
  header.aa = flags & 0x0400;
  header.tc = flags & 0x0200;
  header.rd = flags & 0x0100;
  header.ra = flags & 0x0080;
  header.z = static_cast<std::uint8_t>((flags >> 4) & 0x7);
  header.rcode = static_cast<std::uint8_t>(flags & 0xf);
  header.qdcount = MUST(reader.u16());
  header.ancount = MUST(reader.u16());
  header.nscount = MUST(reader.u16());
  header.arcount = MUST(reader.u16());
  return header;
}

void DnsHeader::write(ByteWriter& writer) const {
  writer.u16(id);
  writer.u16(static_cast<std::uint16_t>((qr ? 0x8000 : 0) | ((opcode & 0xf) << 11) | (aa ? 0x0400 : 0) |
                                        (tc ? 0x0200 : 0) | (rd ? 0x0100 : 0) | (ra ? 0x0080 : 0) | ((z & 0x7) << 4) |
                                        (rcode & 0xf)));
  writer.u16(qdcount);
  writer.u16(ancount);
  writer.u16(nscount);
  writer.u16(arcount);
}

Result<DnsQuestion> DnsQuestion::read(ByteReader& reader) {
  DnsQuestion question;
  question.qname = TRY(DnsName::read(reader));
  question.qtype = TRY(reader.u16());
  question.qclass = TRY(reader.u16());
  return question;
}

void DnsQuestion::write(ByteWriter& writer) const {
  qname.write(writer);
  writer.u16(qtype);
  writer.u16(qclass);
}

Result<DnsRecord> DnsRecord::read(ByteReader& reader) {
  DnsRecord record;
  record.name = TRY(DnsName::read(reader));
  record.type = TRY(reader.u16());
  record.record_class = TRY(reader.u16());
  auto ttl = TRY(reader.u32());
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  record.ttl = (ttl & 0x80000000) ? 0 : ttl;
  record.rdlength = TRY(reader.u16());
  if (reader.remaining() < record.rdlength) return fail(Errc::truncated, "DNS RDATA shorter than RDLENGTH");
  auto rdata_end = reader.position() + record.rdlength;
  if (record.type == dns::type_a && record.record_class == dns::class_in) {
    // RFC 1035 §3.4.1: a 32-bit address.
    if (record.rdlength != 4) return fail(Errc::malformed, "DNS A record RDLENGTH is not 4");
    TRY(record.address.read(reader));
  } else if (record.type == dns::type_cname) {
    // RFC 1035 §3.3.1: one name, which may be compressed.
    record.cname = TRY(DnsName::read(reader));
    if (reader.position() != rdata_end) return fail(Errc::malformed, "DNS CNAME does not fill its RDLENGTH");
  } else {
    TRY(reader.skip(record.rdlength));
  }
  return record;
}

Result<MutableBytes> DnsMessage::write_query(MutableBytes buffer, std::uint16_t id, const DnsName& name,
                                             std::uint16_t qtype) {
  ByteWriter writer(buffer);
  DnsHeader header;
  header.id = id;
  header.rd = true;
  header.qdcount = 1;
  header.write(writer);
  DnsQuestion{name, qtype, dns::class_in}.write(writer);
  return writer.finish();
}

Result<DnsMessage> DnsMessage::parse(Bytes message) {
  ByteReader reader(message);
  DnsMessage parsed;
  parsed.m_header = TRY(DnsHeader::parse(reader));
  if (parsed.m_header.qdcount > max_questions) return fail(Errc::limit_reached, "too many DNS questions");
  if (parsed.m_header.ancount > max_answers) return fail(Errc::limit_reached, "too many DNS answers");
  parsed.m_questions.reserve(parsed.m_header.qdcount);
  for (std::size_t i = 0; i < parsed.m_header.qdcount; ++i)
    parsed.m_questions.push_back(TRY(DnsQuestion::read(reader)));
  parsed.m_answers.reserve(parsed.m_header.ancount);
  for (std::size_t i = 0; i < parsed.m_header.ancount; ++i) parsed.m_answers.push_back(TRY(DnsRecord::read(reader)));
  return parsed;
}

Result<void> DnsMessage::rcode_result() const {
  switch (m_header.rcode) {
  case dns::rcode_no_error: return {};
  case dns::rcode_name_error: return fail(Errc::not_found, "DNS name does not exist (NXDOMAIN)");
  case dns::rcode_format_error: return fail(Errc::malformed, "DNS server could not read the query (FORMERR)");
  case dns::rcode_server_failure: return fail(Errc::io_error, "DNS server failure (SERVFAIL)");
  case dns::rcode_not_implemented: return fail(Errc::unsupported, "DNS server does not implement the query (NOTIMP)");
  case dns::rcode_refused: return fail(Errc::io_error, "DNS server refused the query (REFUSED)");
  default: return fail(Errc::io_error, "DNS server answered with an unknown RCODE");
  }
}

Result<std::vector<DnsAddress>> DnsMessage::a_records(const DnsName& name) const {
  TRY(rcode_result());
  const DnsName* owner = &name;
  std::uint32_t chain_ttl = 0xffffffff;
  for (int links = 0;; ++links) {
    std::vector<DnsAddress> addresses;
    for (const auto& record : m_answers)
      if (record.type == dns::type_a && record.record_class == dns::class_in && record.name == *owner)
        addresses.push_back({record.address, std::min(record.ttl, chain_ttl)});
    if (!addresses.empty()) return addresses;

    auto cname = std::ranges::find_if(m_answers, [&](const DnsRecord& record) {
      return record.type == dns::type_cname && record.record_class == dns::class_in && record.name == *owner;
    });
    if (cname == m_answers.end()) return fail(Errc::not_found, "no A record in the DNS answer (NODATA)");
    if (links == max_cname_chain) return fail(Errc::malformed, "DNS CNAME chain too long or looping");
    chain_ttl = std::min(chain_ttl, cname->ttl);
    owner = &cname->cname;
  }
}

} // namespace morgana::net
