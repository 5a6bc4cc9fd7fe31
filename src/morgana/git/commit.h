#pragma once

// A commit object: "tree", "parent"s, "author", "committer", other headers
// (encoding, gpgsig, mergetag, …) kept as they are, then the message.

#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/object_headers.h"
#include "morgana/git/object_id.h"
#include "morgana/git/signature.h"

namespace morgana::git {

struct Commit {
  ObjectId tree;
  std::vector<ObjectId> parents; // none for a root commit, two or more for a merge
  Signature author;
  Signature committer;
  std::vector<HeaderField> extra_headers; // in their order in the object
  std::string_view message;

  // Views point into `content`, which must outlive the Commit. Strict:
  // headers in git's order, ids of 40 hex digits, well-formed signatures.
  [[nodiscard]] static Result<Commit> parse(Bytes content);
};

} // namespace morgana::git
