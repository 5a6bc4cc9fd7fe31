// The link test application: calls into the Debian C libraries that images
// link (BearSSL, zlib, cmark-gfm through morgana::markdown, nettle and GMP
// through morgana::tls's fast_ec) and into the
// platform's C library, and
// prints each result on a line starting "link: ". tests/system/pvh_link_test.sh
// boots it and checks every line against the same computation on the host.
// Not an example: it exists so that the C libraries stay linkable (the image
// links with --no-undefined) and behave the same as on Linux.

#include <bearssl_hash.h>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string_view>
#include <strings.h>
#include <zlib.h>

#include "morgana/core/format.h"
#include "morgana/markdown/markdown.h"
#include "morgana/tls/fast_ec.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

constexpr std::string_view sha256_input = "The quick brown fox jumps over the lazy dog";

// CommonMark and each GFM extension render_html turns on.
constexpr std::string_view markdown = "# Morgana\n"
                                      "\n"
                                      "Some *emphasis*, `code`, ~~strikethrough~~ and a [link][ref].[^1]\n"
                                      "\n"
                                      "| Layer | Size |\n"
                                      "|:------|-----:|\n"
                                      "| core | 1 |\n"
                                      "\n"
                                      "- [x] www.example.org\n"
                                      "\n"
                                      "```cpp\n"
                                      "a < b\n"
                                      "```\n"
                                      "\n"
                                      "> quoted & <b>raw</b>\n"
                                      "\n"
                                      "[ref]: https://example.org/ \"Title\"\n"
                                      "[^1]: Note.\n";

struct HexBytes {
  const unsigned char* data;
  std::size_t size;
  void format(FormatSink& sink) const {
    for (std::size_t i = 0; i < size; ++i) format_to(sink, "{}", Hex{data[i], 2});
  }
};

void sha256(const log::Source& log) {
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, sha256_input.data(), sha256_input.size());
  unsigned char digest[br_sha256_SIZE];
  br_sha256_out(&context, digest);
  log.info("link: sha256 {}", HexBytes{digest, sizeof digest});
}

bool zlib_round_trip(const log::Source& log) {
  constexpr std::string_view phrase = "Morgana links zlib. ";
  constexpr std::size_t size = phrase.size() * 200;
  auto* original = static_cast<unsigned char*>(std::malloc(size));
  for (std::size_t i = 0; i < size; i += phrase.size()) std::memcpy(original + i, phrase.data(), phrase.size());
  uLongf compressed_size = compressBound(size);
  auto* compressed = static_cast<unsigned char*>(std::malloc(compressed_size));
  auto* restored = static_cast<unsigned char*>(std::calloc(size, 1));
  uLongf restored_size = size;
  bool ok = compressed && restored && compress2(compressed, &compressed_size, original, size, 9) == Z_OK &&
            uncompress(restored, &restored_size, compressed, compressed_size) == Z_OK && restored_size == size &&
            std::memcmp(original, restored, size) == 0;
  if (ok) {
    log.info("link: zlib-compressed {}", HexBytes{compressed, compressed_size});
    log.info("link: zlib-round-trip {} crc32 {}", restored_size, Hex{crc32(0, restored, restored_size), 8});
  }
  std::free(original);
  std::free(compressed);
  std::free(restored);
  // No files here: opening one fails cleanly, with errno set.
  gzFile file = gzopen("/etc/hostname", "rb");
  log.info("link: gzopen {} errno {}", file ? "opened" : "failed", errno);
  return ok;
}

bool markdown_html(const log::Source& log) {
  auto html = markdown::render_html(markdown);
  if (!html) return false;
  std::string_view rest(*html);
  while (!rest.empty()) {
    auto end = rest.find('\n');
    log.info("link: html {}", rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  // Over the memory budget cmark-gfm's allocator jumps back out of it.
  auto refused = markdown::render_html(markdown, {.max_memory = 1024});
  log.info("link: html-budget {}", refused ? "rendered" : refused.error().name());
  return true;
}

// The string functions cmark-gfm's extensions call, and the table behind
// glibc's inline tolower().
void strings(const log::Source& log) {
  auto offset = [](const char* text, const char* pattern) -> long {
    const char* found = std::strstr(text, pattern);
    return found ? found - text : -1;
  };
  auto sign = [](int n) { return (n > 0) - (n < 0); };
  log.info("link: strstr {} {} {} {} {}", offset("task [x] list", "[x]"), offset("abc", ""), offset("abc", "abcd"),
           offset("aab", "ab"), offset("", "a"));
  log.info("link: strncasecmp {} {} {} {} {}", sign(strncasecmp("HTTP://x", "http://y", 7)),
           sign(strncasecmp("abc", "ABD", 3)), sign(strncasecmp("ABC", "ab", 3)), sign(strncasecmp("a", "B", 0)),
           sign(strncasecmp("[", "{", 1)));
  char copy[16];
  std::strcpy(copy, "copied");
  log.info("link: strcpy {}", std::string_view(copy));
  StringBuilder<256> lowered;
  for (int c : {int{'A'}, int{'Z'}, int{'a'}, int{'@'}, int{'['}, int{'0'}, 0xC4, -60, -128, -2, -1, 255})
    format_to(lowered, "{} ", (*__ctype_tolower_loc())[c]);
  log.info("link: tolower {}", lowered.view());
}

void formatting(const log::Source& log) {
  char text[256];
  int length = std::snprintf(text, sizeof text,
                             "%d|%i|%u|%x|%X|%o|%#x|%#o|%5d|%-5d|%05d|%.3d|%+d|% d|%c|%s|%.2s|%8s|%-8s|%%|%ld|%lld|%zu|"
                             "%hhd|%hu|%p|%*d|%-*d|%.0d|",
                             -42, 7, 4000000000u, 0xbeef, 0xbeef, 8, 255, 8, 42, 42, 42, 7, 5, 5, 'z', "text", "text",
                             "right", "left", -1234567890123L, 9223372036854775807LL, std::size_t{12345}, 300, 70000,
                             reinterpret_cast<void*>(0x1234), 6, -3, 6, 3, 0);
  log.info("link: snprintf {} {}", length, std::string_view(text));
  char small[5];
  length = std::snprintf(small, sizeof small, "%s", "truncated");
  log.info("link: snprintf-truncated {} {}", length, std::string_view(small));
}

// The platform's qsort, on numbers from a linear congruential generator the
// test repeats on the host.
void sorting(const log::Source& log) {
  int numbers[40];
  std::uint32_t state = 12345;
  for (int& n : numbers) {
    state = state * 1103515245u + 12345u;
    n = static_cast<int>(state >> 16) % 1000 - 500;
  }
  std::qsort(numbers, std::size(numbers), sizeof numbers[0], [](const void* a, const void* b) {
    int x = *static_cast<const int*>(a), y = *static_cast<const int*>(b);
    return (x > y) - (x < y);
  });
  StringBuilder<512> text;
  for (int n : numbers) format_to(text, "{} ", n);
  log.info("link: qsort {}", text.view());
}

// nettle's P-256 and X25519 behind BearSSL's hooks: RFC 7748 §6.1's shared
// secret, NIST CAVS ECC CDH P-256 COUNT = 0, and an ECDSA signature that
// BearSSL's verifier accepts and its own signer matches.
void elliptic_curves(const log::Source& log) {
  const br_ec_impl& ec = tls::fast_ec();
  unsigned char alice[32] = {0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1,
                             0x72, 0x51, 0xb2, 0x66, 0x45, 0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0,
                             0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
  unsigned char bob[32] = {0x5d, 0xab, 0x08, 0x7e, 0x62, 0x4a, 0x8a, 0x4b, 0x79, 0xe1, 0x7f,
                           0x8b, 0x83, 0x80, 0x0e, 0xe6, 0x6f, 0x3b, 0xb1, 0x29, 0x26, 0x18,
                           0xb6, 0xfd, 0x1c, 0x2f, 0x8b, 0x27, 0xff, 0x88, 0xe0, 0xeb};
  unsigned char shared[32];
  ec.mulgen(shared, bob, sizeof bob, BR_EC_curve25519);
  ec.mul(shared, sizeof shared, alice, sizeof alice, BR_EC_curve25519);
  log.info("link: x25519 {}", HexBytes{shared, sizeof shared});

  unsigned char d[32] = {0x7d, 0x7d, 0xc5, 0xf7, 0x1e, 0xb2, 0x9d, 0xda, 0xf8, 0x0d, 0x62,
                         0x14, 0x63, 0x2e, 0xea, 0xe0, 0x3d, 0x90, 0x58, 0xaf, 0x1f, 0xb6,
                         0xd2, 0x2e, 0xd8, 0x0b, 0xad, 0xb6, 0x2b, 0xc1, 0xa5, 0x34};
  unsigned char peer[65] = {0x04, 0x70, 0x0c, 0x48, 0xf7, 0x7f, 0x56, 0x58, 0x4c, 0x5c, 0xc6, 0x32, 0xca,
                            0x65, 0x64, 0x0d, 0xb9, 0x1b, 0x6b, 0xac, 0xce, 0x3a, 0x4d, 0xf6, 0xb4, 0x2c,
                            0xe7, 0xcc, 0x83, 0x88, 0x33, 0xd2, 0x87, 0xdb, 0x71, 0xe5, 0x09, 0xe3, 0xfd,
                            0x9b, 0x06, 0x0d, 0xdb, 0x20, 0xba, 0x5c, 0x51, 0xdc, 0xc5, 0x94, 0x8d, 0x46,
                            0xfb, 0xf6, 0x40, 0xdf, 0xe0, 0x44, 0x17, 0x82, 0xca, 0xb8, 0x5f, 0xa4, 0xac};
  bool ok = ec.mul(peer, sizeof peer, d, sizeof d, BR_EC_secp256r1) == 1;
  log.info("link: p256-ecdh {}", ok ? HexBytes{peer + 1, 32} : HexBytes{peer, 0});

  unsigned char digest[br_sha256_SIZE];
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, sha256_input.data(), sha256_input.size());
  br_sha256_out(&context, digest);
  br_ec_private_key key{BR_EC_secp256r1, d, sizeof d};
  unsigned char q[65];
  br_ec_public_key public_key;
  std::size_t q_length = br_ec_compute_pub(&br_ec_all_m31, &public_key, q, &key);
  unsigned char ours[80], theirs[80];
  std::size_t length = tls::fast_ecdsa_sign_asn1(&ec, &br_sha256_vtable, digest, &key, ours);
  std::size_t expected = br_ecdsa_i31_sign_asn1(&br_ec_all_m31, &br_sha256_vtable, digest, &key, theirs);
  bool verified = q_length == sizeof q && length != 0 &&
                  br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, digest, sizeof digest, &public_key, ours, length);
  bool same = length == expected && std::memcmp(ours, theirs, length) == 0;
  log.info("link: ecdsa-p256 {} {}", verified ? "verified" : "rejected", same ? "same-as-i31" : "differs-from-i31");
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  const auto& log = context.log();
  sha256(log);
  bool ok = zlib_round_trip(log);
  ok = markdown_html(log) && ok;
  strings(log);
  formatting(log);
  sorting(log);
  elliptic_curves(log);
  log.info("link: done {}", ok ? "ok" : "failed");
  if (!ok) co_return fail(Errc::malformed, "a C library call failed or gave a wrong result");
  co_return Result<void>{};
}
