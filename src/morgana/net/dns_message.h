#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

namespace dns {
inline constexpr std::uint16_t port = 53;
// Without EDNS a UDP message carries at most 512 bytes (RFC 1035 §4.2.1).
inline constexpr std::size_t max_udp_message = 512;
// TYPE and CLASS values (RFC 1035 §3.2.2, §3.2.4).
inline constexpr std::uint16_t type_a = 1;
inline constexpr std::uint16_t type_cname = 5;
inline constexpr std::uint16_t class_in = 1;
// RCODE values (RFC 1035 §4.1.1).
inline constexpr std::uint8_t rcode_no_error = 0;
inline constexpr std::uint8_t rcode_format_error = 1;
inline constexpr std::uint8_t rcode_server_failure = 2;
inline constexpr std::uint8_t rcode_name_error = 3;
inline constexpr std::uint8_t rcode_not_implemented = 4;
inline constexpr std::uint8_t rcode_refused = 5;
} // namespace dns

// A domain name held uncompressed in wire form (length-prefixed labels ending
// with the zero-length root label). Equality ignores ASCII case (RFC 1035 §2.3.3).
class DnsName {
public:
  // RFC 1035 §2.3.4: at most 255 octets on the wire, labels of at most 63.
  static constexpr std::size_t max_wire_length = 255;
  static constexpr std::size_t max_label_length = 63;
  // Compression pointers followed for one name; real names need a handful.
  static constexpr int max_pointer_jumps = 32;

  // The root name.
  DnsName() = default;

  // A name from text such as "www.example.com" (a trailing dot is allowed).
  // Labels are 1..63 bytes of letters, digits, '-' and '_'; the whole name at
  // most 255 bytes in wire form. Errc::invalid_argument otherwise.
  [[nodiscard]] static Result<DnsName> from_text(std::string_view text);

  // Reads a name that may end in a compression pointer (RFC 1035 §4.1.4).
  // `reader` must span the whole message, since pointers are offsets from its
  // start. Each pointer must lead strictly before the labels that contained it
  // (so no loop is possible) and outside the header; the expanded name must fit
  // in 255 bytes. Leaves the reader after the name's bytes at its position.
  [[nodiscard]] static Result<DnsName> read(ByteReader& reader);
  // Writes the name uncompressed.
  void write(ByteWriter& writer) const;

  [[nodiscard]] Bytes wire() const { return std::span(m_wire).first(m_length); }
  [[nodiscard]] bool is_root() const { return m_length == 1; }
  // Dotted text; bytes outside printable ASCII and '.' or '\' inside a label
  // are escaped as in master files (RFC 1035 §5.1). The root is ".".
  void format(FormatSink& sink) const;

  friend bool operator==(const DnsName& a, const DnsName& b);

private:
  [[nodiscard]] Result<void> append_label(Bytes label);

  std::array<std::byte, max_wire_length> m_wire{};
  std::uint8_t m_length = 1; // the root label's zero byte
};

// The message header (RFC 1035 §4.1.1).
struct DnsHeader {
  static constexpr std::size_t size = 12;

  std::uint16_t id = 0;
  bool qr = false; // response
  std::uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  std::uint8_t z = 0;
  std::uint8_t rcode = 0;
  std::uint16_t qdcount = 0;
  std::uint16_t ancount = 0;
  std::uint16_t nscount = 0;
  std::uint16_t arcount = 0;

  [[nodiscard]] static Result<DnsHeader> parse(ByteReader& reader);
  void write(ByteWriter& writer) const;
};

// One entry of the question section (RFC 1035 §4.1.2).
struct DnsQuestion {
  DnsName qname;
  std::uint16_t qtype = dns::type_a;
  std::uint16_t qclass = dns::class_in;

  [[nodiscard]] static Result<DnsQuestion> read(ByteReader& reader);
  void write(ByteWriter& writer) const;
  friend bool operator==(const DnsQuestion&, const DnsQuestion&) = default;
};

// One resource record (RFC 1035 §4.1.3). RDATA is decoded for the types a
// stub resolver follows (A, CNAME) and checked against RDLENGTH; other types
// are skipped.
struct DnsRecord {
  DnsName name;
  std::uint16_t type = 0;
  std::uint16_t record_class = 0;
  std::uint32_t ttl = 0;
  std::uint16_t rdlength = 0;
  Ipv4Address address; // type A
  DnsName cname;       // type CNAME

  [[nodiscard]] static Result<DnsRecord> read(ByteReader& reader);
};

// An address with the seconds it may be cached for.
struct DnsAddress {
  Ipv4Address address;
  std::uint32_t ttl = 0;
  friend bool operator==(const DnsAddress&, const DnsAddress&) = default;
};

// A parsed DNS message: header, questions and answers. The authority and
// additional sections are not needed by a stub resolver and are not read.
class DnsMessage {
public:
  // Bounds on what one message may carry, so a hostile reply cannot make us
  // allocate much: a 512-byte message cannot legitimately hold more.
  static constexpr std::size_t max_questions = 4;
  static constexpr std::size_t max_answers = 64;
  // CNAME links followed within one answer section.
  static constexpr int max_cname_chain = 8;

  // RFC 1035 §4.1: a standard query, recursion desired, one question for
  // `name` of type `qtype`, class IN. Returns the bytes written into `buffer`.
  [[nodiscard]] static Result<MutableBytes> write_query(MutableBytes buffer, std::uint16_t id, const DnsName& name,
                                                        std::uint16_t qtype = dns::type_a);

  // Parses header, questions and answer records. Fails with Errc::truncated
  // or Errc::malformed (with the reason as context), or Errc::limit_reached.
  [[nodiscard]] static Result<DnsMessage> parse(Bytes message);

  [[nodiscard]] const DnsHeader& header() const { return m_header; }
  [[nodiscard]] const std::vector<DnsQuestion>& questions() const { return m_questions; }
  [[nodiscard]] const std::vector<DnsRecord>& answers() const { return m_answers; }

  // The RCODE as a result: ok for NOERROR, Errc::not_found for NXDOMAIN, and
  // an error naming the code otherwise (RFC 1035 §4.1.1).
  [[nodiscard]] Result<void> rcode_result() const;

  // The IPv4 addresses of `name` from the answer section, following CNAMEs
  // from `name` to the name that owns A records (RFC 1034 §3.6.2). Each TTL is
  // the smallest along the chain. Errc::not_found for NXDOMAIN or when the
  // answer holds no A records for the name (NODATA); other RCODEs as in
  // rcode_result(); Errc::malformed for a CNAME loop or an over-long chain.
  [[nodiscard]] Result<std::vector<DnsAddress>> a_records(const DnsName& name) const;

private:
  DnsHeader m_header;
  std::vector<DnsQuestion> m_questions;
  std::vector<DnsRecord> m_answers;
};

} // namespace morgana::net
