#pragma once

// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate to send, and all three formats
// (IMF-fixdate, RFC 850, asctime) to read, as If-Modified-Since requires.

#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/time.h"

namespace morgana::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"; fractions of a second are dropped, times
// before 1970 print as the epoch.
[[nodiscard]] std::string format_http_date(WallClock::time_point time);

// The instant a date names, or nullopt when it is not a valid HTTP date (a
// recipient then ignores the field). RFC 850's two-digit years 70-99 are
// 19xx and 00-69 are 20xx.
[[nodiscard]] std::optional<WallClock::time_point> parse_http_date(std::string_view text);

} // namespace morgana::http
