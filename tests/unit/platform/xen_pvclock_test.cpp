#include "morgana/platform/pvh/xen_pvclock.h"

#include <gtest/gtest.h>

namespace morgana::pvh::xen {
namespace {

// Factors as Xen computes them (xen/arch/x86/time.c, set_time_scale): the
// shift brings the ns-per-tick fraction into [0.5, 1) before it becomes mul.
constexpr std::uint32_t half = 0x80000000;       // 0.5
constexpr std::uint32_t two_thirds = 0xaaaaaaaa; // 0.666...
constexpr std::uint32_t almost_one = 0xffffffff; // 1 - 2^-32

TEST(XenPvclock, ScalesTicksWithoutShift) {
  // A 2 GHz TSC: half a nanosecond per tick.
  EXPECT_EQ(scale_ticks(2'000'000'000, half, 0), 1'000'000'000u);
  EXPECT_EQ(scale_ticks(1, half, 0), 0u); // truncates, as Xen does
}

TEST(XenPvclock, ScalesTicksWithNegativeShift) {
  // A 3 GHz TSC: ticks halved, times 2/3.
  EXPECT_EQ(scale_ticks(3'000'000'000, two_thirds, -1), 999'999'999u);
}

TEST(XenPvclock, ScalesTicksWithPositiveShift) {
  // A 500 MHz TSC: 2 ns per tick as ticks * 4 * 0.5.
  EXPECT_EQ(scale_ticks(500'000'000, half, 2), 1'000'000'000u);
}

TEST(XenPvclock, ScalingDoesNotOverflowSixtyFourBits) {
  // 2^40 ticks times a factor just under 1: the product needs 72 bits.
  EXPECT_EQ(scale_ticks(std::uint64_t{1} << 40, almost_one, 0), (std::uint64_t{1} << 40) - 256);
}

TEST(XenPvclock, SystemTimeAddsScaledTicksSinceTheSnapshot) {
  PvclockSnapshot snapshot{
      .tsc_timestamp = 1'000, .system_time_ns = 5'000'000, .tsc_to_system_mul = half, .tsc_shift = 0};
  EXPECT_EQ(system_time_at(snapshot, 1'000), 5'000'000u);
  EXPECT_EQ(system_time_at(snapshot, 3'000), 5'001'000u);
}

TEST(XenPvclock, ReadingOlderThanTheSnapshotDoesNotGoBack) {
  PvclockSnapshot snapshot{
      .tsc_timestamp = 1'000, .system_time_ns = 5'000'000, .tsc_to_system_mul = half, .tsc_shift = 0};
  EXPECT_EQ(system_time_at(snapshot, 999), 5'000'000u);
  EXPECT_EQ(system_time_at(snapshot, 0), 5'000'000u);
}

TEST(XenPvclock, TscFrequencyFromTheFactor) {
  EXPECT_EQ(tsc_hz(half, 0), 2'000'000'000u);
  EXPECT_EQ(tsc_hz(two_thirds, -1), 3'000'000'000u);
  EXPECT_EQ(tsc_hz(half, 2), 500'000'000u);
  EXPECT_EQ(tsc_hz(0, 0), 0u);
}

TEST(XenPvclock, WallClockIsSystemTimeAfterTheEpochOffset) {
  EXPECT_EQ(wall_clock_ns(1'700'000'000, 0, 5, 1'000'000'000), 1'700'000'001'000'000'005);
  // wc_sec_hi carries the seconds past 2^32 (the year 2106).
  EXPECT_EQ(wall_clock_ns(0, 1, 0, 0), (std::int64_t{1} << 32) * 1'000'000'000);
}

} // namespace
} // namespace morgana::pvh::xen
