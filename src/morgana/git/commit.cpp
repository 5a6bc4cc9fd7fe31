#include "morgana/git/commit.h"

namespace morgana::git {

Result<Commit> Commit::parse(Bytes content) {
  HeaderReader headers(as_string(content));
  Commit commit;
  auto field = TRY(headers.next());
  if (!field || field->key != "tree") return fail(Errc::malformed, "git: commit does not start with a tree");
  commit.tree = TRY(ObjectId::parse_hex(field->value));
  field = TRY(headers.next());
  while (field && field->key == "parent") {
    commit.parents.push_back(TRY(ObjectId::parse_hex(field->value)));
    field = TRY(headers.next());
  }
  if (!field || field->key != "author") return fail(Errc::malformed, "git: commit without an author");
  commit.author = TRY(Signature::parse(field->value));
  field = TRY(headers.next());
  if (!field || field->key != "committer") return fail(Errc::malformed, "git: commit without a committer");
  commit.committer = TRY(Signature::parse(field->value));
  for (field = TRY(headers.next()); field; field = TRY(headers.next())) {
    if (field->key == "tree" || field->key == "parent" || field->key == "author" || field->key == "committer")
      return fail(Errc::malformed, "git: commit repeats a header out of order");
    commit.extra_headers.push_back(*field);
  }
  commit.message = headers.message();
  return commit;
}

} // namespace morgana::git
