#pragma once

// HTTP dates (RFC 9110 §5.6.7): IMF-fixdate to send, and all three formats
// (IMF-fixdate, RFC 850, asctime) to read, as If-Modified-Since requires;
// and RFC 3339 timestamps to send, for Atom feeds (RFC 4287 §3.3).

#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/time.h"

namespace morgana::http {

// "Sun, 06 Nov 1994 08:49:37 GMT"; fractions of a second are dropped, times
// before 1970 print as the epoch.
[[nodiscard]] std::string format_http_date(WallClock::time_point time);

// RFC 3339 §5.6 date-time in UTC without fractions: "1994-11-06T08:49:37" then
// `utc_offset`. "Z" is the usual UTC designator; "-00:00" (§4.3, "the local
// offset is unknown") is what Canopy's feed ids were hashed from. Times before
// 1970 print as the epoch.
[[nodiscard]] std::string format_rfc3339(WallClock::time_point time, std::string_view utc_offset = "Z");

// The instant a date names, or nullopt when it is not a valid HTTP date (a
// recipient then ignores the field). RFC 850's two-digit years 70-99 are
// 19xx and 00-69 are 20xx.
[[nodiscard]] std::optional<WallClock::time_point> parse_http_date(std::string_view text);

} // namespace morgana::http
