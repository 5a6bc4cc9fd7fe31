#include "morgana/git/signature.h"

namespace morgana::git {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
} // namespace

Result<Signature> Signature::parse(std::string_view value) {
  Signature signature;
  signature.raw = value;
  auto open = value.find('<');
  auto close = value.find('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return fail(Errc::malformed, "git: signature without <email>");
  if (value.find_first_of("<>", open + 1) != close || value.find_first_of("<>", close + 1) != std::string_view::npos)
    return fail(Errc::malformed, "git: signature with a stray '<' or '>'");
  if (value.find('\n') != std::string_view::npos) return fail(Errc::malformed, "git: signature spans lines");
  // "Name <" or "<" for an empty name.
  if (open != 0 && value[open - 1] != ' ') return fail(Errc::malformed, "git: signature without space before <email>");
  signature.name = value.substr(0, open == 0 ? 0 : open - 1);
  signature.email = value.substr(open + 1, close - open - 1);

  auto rest = value.substr(close + 1);
  if (!rest.starts_with(' ')) return fail(Errc::malformed, "git: signature without a time");
  rest.remove_prefix(1);
  auto space = rest.find(' ');
  if (space == std::string_view::npos || space == 0 || space > 18)
    return fail(Errc::malformed, "git: signature time is not a number");
  std::int64_t seconds = 0;
  for (char c : rest.substr(0, space)) {
    if (!is_digit(c)) return fail(Errc::malformed, "git: signature time is not a number");
    seconds = seconds * 10 + (c - '0');
  }
  auto zone = rest.substr(space + 1);
  if (zone.size() != 5 || (zone[0] != '+' && zone[0] != '-'))
    return fail(Errc::malformed, "git: signature zone is not ±HHMM");
  for (char c : zone.substr(1))
    if (!is_digit(c)) return fail(Errc::malformed, "git: signature zone is not ±HHMM");
  int hours = (zone[1] - '0') * 10 + (zone[2] - '0');
  int minutes = (zone[3] - '0') * 10 + (zone[4] - '0');
  if (minutes >= 60) return fail(Errc::malformed, "git: signature zone minutes out of range");
  signature.time = seconds;
  signature.offset_minutes = (zone[0] == '-' ? -1 : 1) * (hours * 60 + minutes);
  signature.offset = zone;
  return signature;
}

} // namespace morgana::git
