#include "morgana/platform/pvh/entropy.h"

#include <cstdint>
#include <cstring>

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::entropy {
namespace {

constexpr std::uint32_t cpuid_1_ecx_rdrand = 1u << 30;
constexpr std::uint32_t cpuid_7_ebx_rdseed = 1u << 18;
// Intel's guidance: RDRAND fails only transiently, so ten retries suffice;
// RDSEED can run dry for longer under load.
constexpr int rdrand_retries = 10;
constexpr int rdseed_retries = 100;

struct State {
  bool rdrand = false;
  bool rdseed = false;
};
constinit State g_state{};

bool rdseed(std::uint64_t& value) {
  bool ok;
  asm volatile("rdseed %0" : "=r"(value), "=@ccc"(ok));
  return ok;
}

bool rdrand(std::uint64_t& value) {
  bool ok;
  asm volatile("rdrand %0" : "=r"(value), "=@ccc"(ok));
  return ok;
}

bool next_word(std::uint64_t& value) {
  if (g_state.rdseed)
    for (int i = 0; i < rdseed_retries; ++i) {
      if (rdseed(value)) return true;
      x86::pause();
    }
  if (g_state.rdrand)
    for (int i = 0; i < rdrand_retries; ++i)
      if (rdrand(value)) return true;
  return false;
}

} // namespace

void init() {
  g_state.rdrand = x86::cpuid(1).ecx & cpuid_1_ecx_rdrand;
  g_state.rdseed = x86::has_leaf(7) && (x86::cpuid(7).ebx & cpuid_7_ebx_rdseed);
}

bool available() { return g_state.rdrand || g_state.rdseed; }

std::string_view source_name() {
  if (g_state.rdseed) return "RDSEED";
  if (g_state.rdrand) return "RDRAND";
  return "none";
}

Result<void> fill(std::span<std::byte> buffer) {
  if (!available()) return fail(Errc::no_entropy, "the CPU has neither RDSEED nor RDRAND (try -cpu max)");
  while (!buffer.empty()) {
    std::uint64_t word;
    if (!next_word(word)) return fail(Errc::no_entropy, "RDSEED and RDRAND kept failing");
    auto n = buffer.size() < sizeof word ? buffer.size() : sizeof word;
    std::memcpy(buffer.data(), &word, n);
    buffer = buffer.subspan(n);
  }
  return {};
}

} // namespace morgana::pvh::entropy
