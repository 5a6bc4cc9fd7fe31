// Hello: prints the monotonic and wall clocks, sleeps one second on the event
// loop, prints them again and exits with status 0. The smallest check that a
// target boots, keeps time and wakes from sleep.
//
//   hello                      hosted
//   qemu-system-x86_64 -M microvm -cpu max -m 64 -nographic -no-reboot \
//     -device isa-debug-exit -kernel build/pvh/hello.elf

#include <chrono>
#include <cstdint>

#include "morgana/core/event_loop.h"
#include "morgana/core/format.h"
#include "morgana/core/time.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

// Nanoseconds as seconds with nine decimals.
struct Seconds {
  std::int64_t nanoseconds;
  void format(FormatSink& sink) const {
    format_to(sink, "{}.", nanoseconds / 1'000'000'000);
    StringBuilder<16> fraction;
    format_unsigned(fraction, static_cast<std::uint64_t>(nanoseconds % 1'000'000'000 + 1'000'000'000));
    sink.write(fraction.view().substr(1));
  }
};

// A wall-clock time as ISO 8601 UTC, e.g. 2024-05-31T16:08:37Z.
struct Utc {
  WallClock::time_point time;
  void format(FormatSink& sink) const {
    auto since_epoch = time.time_since_epoch();
    auto days = std::chrono::floor<std::chrono::days>(since_epoch);
    std::chrono::year_month_day date{std::chrono::sys_days{days}};
    auto second_of_day = std::chrono::floor<std::chrono::seconds>(since_epoch - days).count();
    auto two = [&sink](long value) {
      if (value < 10) sink.put('0');
      format_signed(sink, value);
    };
    format_signed(sink, static_cast<int>(date.year()));
    sink.put('-');
    two(static_cast<unsigned>(date.month()));
    sink.put('-');
    two(static_cast<unsigned>(date.day()));
    sink.put('T');
    two(second_of_day / 3600);
    sink.put(':');
    two(second_of_day / 60 % 60);
    sink.put(':');
    two(second_of_day % 60);
    sink.put('Z');
  }
};

void report(const log::Source& log, std::string_view when) {
  auto monotonic = MonotonicClock::now().time_since_epoch().count();
  auto wall = WallClock::now();
  log.info("hello {}: monotonic {} s, wall {} s ({})", when, Seconds{monotonic},
           Seconds{wall.time_since_epoch().count()}, Utc{wall});
}

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  report(context.log(), "before sleep");
  auto before = MonotonicClock::now();
  CO_TRY(co_await sleep_for(1s));
  auto elapsed = MonotonicClock::now() - before;
  report(context.log(), "after sleep");
  context.log().info("hello: slept {} s", Seconds{elapsed.count()});
  co_return Result<void>{};
}
