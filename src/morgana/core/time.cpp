#include "morgana/core/time.h"

#include "morgana/platform/interface.h"

namespace morgana {

MonotonicClock::time_point MonotonicClock::now() { return time_point(Duration(platform::monotonic_ns())); }
WallClock::time_point WallClock::now() { return time_point(Duration(platform::wall_ns())); }

} // namespace morgana
