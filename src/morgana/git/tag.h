#pragma once

// An annotated tag object: "object", "type", "tag", "tagger" (absent in some
// tags git itself wrote before 2005), other headers, then the message (with
// its PGP signature, if any, at the end).

#include <optional>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/object.h"
#include "morgana/git/object_headers.h"
#include "morgana/git/object_id.h"
#include "morgana/git/signature.h"

namespace morgana::git {

struct Tag {
  ObjectId object;
  ObjectType type = ObjectType::commit; // of the tagged object
  std::string_view name;
  std::optional<Signature> tagger;
  std::vector<HeaderField> extra_headers;
  std::string_view message;

  // Views point into `content`, which must outlive the Tag.
  [[nodiscard]] static Result<Tag> parse(Bytes content);
};

} // namespace morgana::git
