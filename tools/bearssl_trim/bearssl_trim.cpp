// bearssl_trim OBJECT: shortens the cipher-suite table in BearSSL's server
// handshake code (ssl_hs_server.o, taken out of Debian's libbearssl.a) to the
// suites Morgana offers (src/morgana/tls/suites.h), in place. cmake/bearssl.cmake
// puts the object back into a copy of the archive that Morgana links.
//
// Why: BearSSL 0.6's read-ClientHello (ssl_hs_server.t0) translates every one of
// the BR_MAX_CIPHER_SUITES (48) client_suites slots with cipher-suite-to-elements,
// a linear scan of that table (45 entries, terminated by suite 0), and an empty
// slot scans it to the end: about 2,000 table entries, run by the T0 interpreter,
// per full handshake, a third of its instructions (docs/BENCHMARKS.md, issue 13).
// The table is read-only data; a server only ever looks up suites its engine was
// given (scan-suite filters the client's list against them first), and Morgana's
// engines are given only cipher_suites. So the entries kept are exactly ours,
// unchanged and in BearSSL's order, followed by the terminator; nothing else in
// the object changes.
//
// The table is recognised by its shape, not its address: 4-byte entries (suite,
// elements; big-endian) with strictly increasing nonzero suite numbers, ended by
// suite 0, holding each of our suites. Exactly one such run must exist, or the
// tool changes nothing and fails (another BearSSL version needs a fresh look;
// configure with -DMORGANA_BEARSSL_TRIM=OFF to link the archive unchanged).
// Running it on an already trimmed object finds our suites alone and succeeds.

#include "morgana/tls/suites.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

namespace {

constexpr std::size_t entry_size = 4;
// Fewer entries than this is not BearSSL's table (it has 45 in 0.6).
constexpr std::size_t min_entries = morgana::tls::cipher_suites.size();

std::uint16_t suite_at(const std::vector<unsigned char>& bytes, std::size_t offset) {
  return static_cast<std::uint16_t>(bytes[offset] << 8 | bytes[offset + 1]);
}

struct Table {
  std::size_t offset;
  std::size_t entries; // before the terminator
};

// The run of increasing suites starting at `offset`, if it ends with the
// terminator and holds all of our suites.
std::optional<Table> table_at(const std::vector<unsigned char>& bytes, std::size_t offset) {
  std::size_t entries = 0;
  std::uint16_t previous = 0;
  std::size_t ours = 0;
  for (std::size_t at = offset; at + 2 <= bytes.size(); at += entry_size) {
    std::uint16_t suite = suite_at(bytes, at);
    if (suite == 0) {
      if (entries < min_entries || ours != morgana::tls::cipher_suites.size()) return std::nullopt;
      return Table{offset, entries};
    }
    if (suite <= previous || at + entry_size > bytes.size()) return std::nullopt;
    previous = suite;
    ours += std::ranges::count(morgana::tls::cipher_suites, suite);
    ++entries;
  }
  return std::nullopt;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bearssl_trim OBJECT  (BearSSL's ssl_hs_server.o; changed in place)\n");
    return 2;
  }
  const char* path = argv[1];
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "bearssl_trim: cannot read %s\n", path);
    return 1;
  }
  std::vector<unsigned char> bytes(std::istreambuf_iterator<char>(in), {});

  std::vector<Table> found;
  for (std::size_t offset = 0; offset + entry_size <= bytes.size(); ++offset) {
    // Only whole tables, not their tails.
    if (offset >= entry_size && table_at(bytes, offset - entry_size)) continue;
    if (auto table = table_at(bytes, offset)) found.push_back(*table);
  }
  if (found.size() != 1) {
    std::fprintf(stderr,
                 "bearssl_trim: %s: %zu cipher-suite tables found, expected exactly 1 (not BearSSL 0.6's "
                 "ssl_hs_server.o?); nothing changed. Configure with -DMORGANA_BEARSSL_TRIM=OFF to link "
                 "libbearssl.a unchanged.\n",
                 path, found.size());
    return 1;
  }

  Table table = found.front();
  std::vector<unsigned char> kept;
  for (std::size_t i = 0; i < table.entries; ++i) {
    std::size_t at = table.offset + i * entry_size;
    if (std::ranges::count(morgana::tls::cipher_suites, suite_at(bytes, at)) != 0) {
      kept.insert(kept.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at),
                  bytes.begin() + static_cast<std::ptrdiff_t>(at + entry_size));
    }
  }
  // Our entries, then the terminator; the rest of the old table (up to and
  // including its terminator's two bytes, which end the table) is zeroed.
  auto table_begin = bytes.begin() + static_cast<std::ptrdiff_t>(table.offset);
  auto table_end = table_begin + static_cast<std::ptrdiff_t>(table.entries * entry_size + 2);
  std::fill(table_begin, table_end, 0);
  std::ranges::copy(kept, table_begin);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "bearssl_trim: cannot write %s\n", path);
    return 1;
  }
  std::printf("bearssl_trim: %s: cipher-suite table at offset %#zx, %zu entries -> %zu (Morgana's suites)\n", path,
              table.offset, table.entries, kept.size() / entry_size);
  return 0;
}
