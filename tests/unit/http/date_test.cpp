#include "morgana/http/date.h"

#include <gtest/gtest.h>

namespace morgana::http {
namespace {

// RFC 9110 §5.6.7's example instant.
const WallClock::time_point example{std::chrono::seconds(784111777)};

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(example), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(WallClock::time_point{}), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(WallClock::time_point{std::chrono::seconds(951782400)}), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(WallClock::time_point{std::chrono::seconds(4102444799)}), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpDate, FormatsRfc3339) {
  EXPECT_EQ(format_rfc3339(example), "1994-11-06T08:49:37Z");
  EXPECT_EQ(format_rfc3339(example, "-00:00"), "1994-11-06T08:49:37-00:00");
  EXPECT_EQ(format_rfc3339(WallClock::time_point{}), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(WallClock::time_point{std::chrono::seconds(951782400)}), "2000-02-29T00:00:00Z");
  // Fractions of a second are dropped, not rounded.
  EXPECT_EQ(format_rfc3339(example + std::chrono::milliseconds(999)), "1994-11-06T08:49:37Z");
}

TEST(HttpDate, ParsesAllThreeFormats) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), example);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), example);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), example);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), WallClock::time_point{std::chrono::seconds(951782400)});
}

TEST(HttpDate, RoundTrips) {
  for (std::int64_t seconds : {0LL, 1LL, 86399LL, 1700000000LL, 9000000000LL}) {
    WallClock::time_point time{std::chrono::seconds(seconds)};
    EXPECT_EQ(parse_http_date(format_http_date(time)), time) << seconds;
  }
}

TEST(HttpDate, RejectsInvalidDates) {
  for (std::string_view text :
       {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ", "Sun Nov 6 08:49:37 1994", "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Fri, 31 Dec 9999 23:59:59 GMT"}) {
    EXPECT_FALSE(parse_http_date(text)) << text;
  }
}

} // namespace
} // namespace morgana::http
