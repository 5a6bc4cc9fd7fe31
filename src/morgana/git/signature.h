#pragma once

// The identity line of a commit's author/committer and a tag's tagger:
// "Name <email> 1700000000 +0100" (gitformat-signature's "person ident").

#include <cstdint>
#include <string_view>

#include "morgana/core/result.h"

namespace morgana::git {

struct Signature {
  std::string_view raw; // the whole value, as in the object
  std::string_view name;
  std::string_view email;
  std::int64_t time = 0;           // seconds since the epoch, UTC
  std::int32_t offset_minutes = 0; // the author's zone, east of UTC
  std::string_view offset;         // as written, "+0100"

  // Views point into `value`. Errc::malformed unless it is "NAME <EMAIL> SECONDS ±HHMM".
  [[nodiscard]] static Result<Signature> parse(std::string_view value);
};

} // namespace morgana::git
