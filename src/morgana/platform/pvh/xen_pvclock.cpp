#include "morgana/platform/pvh/xen_pvclock.h"

namespace morgana::pvh::xen {

std::uint64_t scale_ticks(std::uint64_t ticks, std::uint32_t mul, std::int8_t shift) {
  if (shift < 0) ticks >>= -shift;
  else ticks <<= shift;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(ticks) * mul) >> 32);
}

std::uint64_t system_time_at(const PvclockSnapshot& snapshot, std::uint64_t tsc) {
  if (tsc <= snapshot.tsc_timestamp) return snapshot.system_time_ns;
  return snapshot.system_time_ns +
         scale_ticks(tsc - snapshot.tsc_timestamp, snapshot.tsc_to_system_mul, snapshot.tsc_shift);
}

std::uint64_t tsc_hz(std::uint32_t mul, std::int8_t shift) {
  if (mul == 0) return 0;
  // ns per tick = mul * 2^shift / 2^32, so ticks per second = 10^9 * 2^32 / (mul * 2^shift).
  unsigned __int128 numerator = static_cast<unsigned __int128>(1'000'000'000) << 32;
  if (shift < 0) numerator <<= -shift;
  else numerator >>= shift;
  return static_cast<std::uint64_t>(numerator / mul);
}

std::int64_t wall_clock_ns(std::uint32_t wc_sec, std::uint32_t wc_sec_hi, std::uint32_t wc_nsec,
                           std::uint64_t system_time_ns) {
  auto seconds = static_cast<std::int64_t>((std::uint64_t{wc_sec_hi} << 32) | wc_sec);
  return seconds * 1'000'000'000 + wc_nsec + static_cast<std::int64_t>(system_time_ns);
}

} // namespace morgana::pvh::xen
