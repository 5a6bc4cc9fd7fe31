// Feeds arbitrary bytes, as a server's end-entity certificate, to the
// subjectAltName reader the TLS client checks IP addresses with, and checks
// what the client relies on: every GeneralName lies within the input; an
// error is Errc::malformed with a sentence; certificate_names_ip_address
// fails exactly when listing the names (or an iPAddress's length) does, and
// says true exactly when an iPAddress entry holds the address's four octets.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "morgana/tls/subject_alt_name.h"

using namespace morgana;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_error(const Error& error) { check(error == Errc::malformed && !error.context.empty()); }

// What listing every name says about `address`: an error, or whether it is named.
Result<bool> listed_names_include(Bytes input, net::Ipv4Address address) {
  auto names = TRY(tls::SubjectAltNames::of(input));
  bool found = false;
  while (!names.at_end()) {
    auto name = TRY(names.next());
    check(name.value.data() >= input.data() && name.value.data() + name.value.size() <= input.data() + input.size());
    if (name.tag != tls::general_name_ip_address) continue;
    if (name.value.size() != 4 && name.value.size() != 16) return fail(Errc::malformed, "iPAddress length");
    if (name.value.size() == 4) {
      found = found || (std::to_integer<std::uint32_t>(name.value[0]) << 24 |
                        std::to_integer<std::uint32_t>(name.value[1]) << 16 |
                        std::to_integer<std::uint32_t>(name.value[2]) << 8 |
                        std::to_integer<std::uint32_t>(name.value[3])) == address.value;
    }
  }
  return found;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  for (auto address : {net::Ipv4Address::from_octets(10, 0, 2, 2), net::Ipv4Address::from_octets(127, 0, 0, 1)}) {
    auto named = tls::certificate_names_ip_address(input, address);
    auto listed = listed_names_include(input, address);
    check(named.has_value() == listed.has_value());
    if (!named) {
      check_error(named.error());
      continue;
    }
    check(*named == *listed);
  }
  return 0;
}
