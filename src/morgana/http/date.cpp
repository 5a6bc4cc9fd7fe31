#include "morgana/http/date.h"

#include <array>
#include <cstdint>
#include <limits>

namespace morgana::http {
namespace {

constexpr std::array<std::string_view, 7> day_names{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<std::string_view, 7> long_day_names{"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                         "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct CivilDate {
  std::int64_t year;
  unsigned month; // 1-12
  unsigned day;   // 1-31
};

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(CivilDate date) {
  std::int64_t y = date.year - (date.month <= 2 ? 1 : 0);
  std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<std::uint64_t>(y - era * 400);
  std::uint64_t mp = (date.month + 9) % 12;
  std::uint64_t doy = (153 * mp + 2) / 5 + date.day - 1;
  std::uint64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

CivilDate civil_from_days(std::int64_t days) {
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = static_cast<std::uint64_t>(days - era * 146097);
  std::uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  std::uint64_t mp = (5 * doy + 2) / 153;
  auto day = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  auto month = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

bool leap(std::int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(std::int64_t year, unsigned month) {
  constexpr std::array<unsigned, 12> days{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap(year) ? 29 : days[month - 1];
}

void append_digits(std::string& out, std::uint64_t value, int width) {
  char digits[20];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<std::size_t>(width));
}

// A cursor over the date text; every step fails softly with `ok = false`.
class Scanner {
public:
  explicit Scanner(std::string_view text) : m_text(text) {}

  bool literal(std::string_view expected) {
    if (m_text.substr(m_position, expected.size()) != expected) return m_ok = false;
    m_position += expected.size();
    return true;
  }
  // Exactly `count` digits.
  std::uint64_t digits(std::size_t count) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (m_position >= m_text.size() || m_text[m_position] < '0' || m_text[m_position] > '9') {
        m_ok = false;
        return 0;
      }
      value = value * 10 + static_cast<std::uint64_t>(m_text[m_position++] - '0');
    }
    return value;
  }
  // One of `names`; returns its index.
  template <std::size_t N>
  unsigned name(const std::array<std::string_view, N>& names) {
    for (unsigned i = 0; i < N; ++i) {
      if (m_text.substr(m_position, names[i].size()) == names[i]) {
        m_position += names[i].size();
        return i;
      }
    }
    m_ok = false;
    return 0;
  }
  [[nodiscard]] char peek() const { return m_position < m_text.size() ? m_text[m_position] : '\0'; }
  [[nodiscard]] bool done() const { return m_ok && m_position == m_text.size(); }

private:
  std::string_view m_text;
  std::size_t m_position = 0;
  bool m_ok = true;
};

struct Fields {
  CivilDate date;
  std::uint64_t hour, minute, second;
};

void time_of_day(Scanner& scanner, Fields& fields) {
  fields.hour = scanner.digits(2);
  scanner.literal(":");
  fields.minute = scanner.digits(2);
  scanner.literal(":");
  fields.second = scanner.digits(2);
}

std::optional<WallClock::time_point> to_time(const Fields& fields) {
  const auto& date = fields.date;
  if (date.month < 1 || date.month > 12 || date.day < 1 || date.day > days_in_month(date.year, date.month)) {
    return std::nullopt;
  }
  // A leap second (60) is allowed by the grammar; it reads as the next second.
  if (fields.hour > 23 || fields.minute > 59 || fields.second > 60) return std::nullopt;
  auto seconds = days_from_civil(date) * 86400 +
                 static_cast<std::int64_t>(fields.hour * 3600 + fields.minute * 60 + fields.second);
  // WallClock counts nanoseconds in 64 bits: dates past 2262 do not fit.
  if (seconds > std::numeric_limits<std::int64_t>::max() / 1'000'000'000) return std::nullopt;
  return WallClock::time_point(std::chrono::seconds(seconds));
}

// The calendar fields of a wall-clock time, in UTC; times before 1970 read as the epoch.
struct Broken {
  std::int64_t days; // since 1970-01-01
  CivilDate date;
  std::uint64_t second_of_day;
};

Broken break_down(WallClock::time_point time) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(time.time_since_epoch()).count();
  if (seconds < 0) seconds = 0;
  std::int64_t days = seconds / 86400;
  return {days, civil_from_days(days), static_cast<std::uint64_t>(seconds % 86400)};
}

// "08:49:37"
void append_time_of_day(std::string& out, std::uint64_t second_of_day) {
  append_digits(out, second_of_day / 3600, 2);
  out += ':';
  append_digits(out, second_of_day / 60 % 60, 2);
  out += ':';
  append_digits(out, second_of_day % 60, 2);
}

} // namespace

std::string format_http_date(WallClock::time_point time) {
  auto [days, date, second_of_day] = break_down(time);
  std::string out;
  out.reserve(29);
  out += day_names[static_cast<std::size_t>((days + 4) % 7)]; // 1970-01-01 was a Thursday
  out += ", ";
  append_digits(out, date.day, 2);
  out += ' ';
  out += month_names[date.month - 1];
  out += ' ';
  append_digits(out, static_cast<std::uint64_t>(date.year), 4);
  out += ' ';
  append_time_of_day(out, second_of_day);
  out += " GMT";
  return out;
}

std::string format_rfc3339(WallClock::time_point time, std::string_view utc_offset) {
  auto [days, date, second_of_day] = break_down(time);
  std::string out;
  out.reserve(19 + utc_offset.size());
  append_digits(out, static_cast<std::uint64_t>(date.year), 4);
  out += '-';
  append_digits(out, date.month, 2);
  out += '-';
  append_digits(out, date.day, 2);
  out += 'T';
  append_time_of_day(out, second_of_day);
  out += utc_offset;
  return out;
}

std::optional<WallClock::time_point> parse_http_date(std::string_view text) {
  Fields fields{};
  if (text.size() > 3 && text[3] == ',') {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    Scanner scanner(text);
    scanner.name(day_names);
    scanner.literal(", ");
    fields.date.day = static_cast<unsigned>(scanner.digits(2));
    scanner.literal(" ");
    fields.date.month = scanner.name(month_names) + 1;
    scanner.literal(" ");
    fields.date.year = static_cast<std::int64_t>(scanner.digits(4));
    scanner.literal(" ");
    time_of_day(scanner, fields);
    scanner.literal(" GMT");
    if (!scanner.done()) return std::nullopt;
    return to_time(fields);
  }
  if (text.find(',') != std::string_view::npos) {
    // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    Scanner scanner(text);
    scanner.name(long_day_names);
    scanner.literal(", ");
    fields.date.day = static_cast<unsigned>(scanner.digits(2));
    scanner.literal("-");
    fields.date.month = scanner.name(month_names) + 1;
    scanner.literal("-");
    auto year = static_cast<std::int64_t>(scanner.digits(2));
    fields.date.year = year < 70 ? 2000 + year : 1900 + year;
    scanner.literal(" ");
    time_of_day(scanner, fields);
    scanner.literal(" GMT");
    if (!scanner.done()) return std::nullopt;
    return to_time(fields);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  Scanner scanner(text);
  scanner.name(day_names);
  scanner.literal(" ");
  fields.date.month = scanner.name(month_names) + 1;
  scanner.literal(" ");
  if (scanner.peek() == ' ') {
    scanner.literal(" ");
    fields.date.day = static_cast<unsigned>(scanner.digits(1));
  } else {
    fields.date.day = static_cast<unsigned>(scanner.digits(2));
  }
  scanner.literal(" ");
  time_of_day(scanner, fields);
  scanner.literal(" ");
  fields.date.year = static_cast<std::int64_t>(scanner.digits(4));
  if (!scanner.done()) return std::nullopt;
  return to_time(fields);
}

} // namespace morgana::http
