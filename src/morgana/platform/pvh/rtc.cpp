#include "morgana/platform/pvh/rtc.h"

#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh::rtc {
namespace {

constexpr std::uint16_t cmos_index = 0x70, cmos_data = 0x71;
constexpr std::uint8_t nmi_disable = 0x80;
constexpr std::uint8_t reg_seconds = 0x00, reg_minutes = 0x02, reg_hours = 0x04, reg_day = 0x07, reg_month = 0x08,
                       reg_year = 0x09, reg_status_a = 0x0a, reg_status_b = 0x0b, reg_century = 0x32;
constexpr std::uint8_t status_a_update_in_progress = 0x80;
constexpr std::uint8_t status_b_24_hour = 0x02, status_b_binary = 0x04;
constexpr std::uint8_t hour_pm = 0x80;
constexpr int read_attempts = 10000;

std::uint8_t read_register(std::uint8_t reg) {
  x86::outb(cmos_index, nmi_disable | reg);
  return x86::inb(cmos_data);
}

struct Reading {
  std::uint8_t seconds, minutes, hours, day, month, year, century;
  friend bool operator==(const Reading&, const Reading&) = default;
};

Reading read_once() {
  for (int i = 0; i < read_attempts && (read_register(reg_status_a) & status_a_update_in_progress); ++i) x86::pause();
  return {read_register(reg_seconds), read_register(reg_minutes), read_register(reg_hours),  read_register(reg_day),
          read_register(reg_month),   read_register(reg_year),    read_register(reg_century)};
}

unsigned from_bcd(std::uint8_t value) { return (value & 0x0fu) + (value >> 4) * 10u; }

} // namespace

std::optional<std::int64_t> read_epoch_seconds() {
  // An update can land between two register reads: read until two agree.
  Reading reading = read_once();
  for (int i = 0; i < read_attempts; ++i) {
    Reading again = read_once();
    if (again == reading) break;
    reading = again;
  }
  auto status_b = read_register(reg_status_b);
  if (status_b == 0xff && reading.seconds == 0xff) return std::nullopt;

  bool binary = status_b & status_b_binary;
  auto decode = [binary](std::uint8_t value) { return binary ? unsigned{value} : from_bcd(value); };
  bool pm = !(status_b & status_b_24_hour) && (reading.hours & hour_pm);
  unsigned hours = decode(static_cast<std::uint8_t>(reading.hours & ~hour_pm));
  if (!(status_b & status_b_24_hour)) hours = hours % 12 + (pm ? 12 : 0);
  unsigned century = decode(reading.century);
  if (century < 19 || century > 99) century = 20; // no century register: assume 20xx
  auto year = std::int64_t{century} * 100 + decode(reading.year);
  unsigned month = decode(reading.month), day = decode(reading.day);
  unsigned minutes = decode(reading.minutes), seconds = decode(reading.seconds);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hours > 23 || minutes > 59 || seconds > 59) return std::nullopt;
  return days_from_civil(year, month, day) * 86400 + std::int64_t{hours} * 3600 + std::int64_t{minutes} * 60 + seconds;
}

} // namespace morgana::pvh::rtc
