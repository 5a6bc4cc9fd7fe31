#include "morgana/git/commit.h"

namespace morgana::git {

Result<Commit> Commit::parse(Bytes content) {
  HeaderReader headers(as_string(content));
  Commit commit;
  auto tree = TRY(headers.expect("tree", "git: commit does not start with a tree"));
  commit.tree = TRY(ObjectId::parse_hex(tree));
  while (auto parent = TRY(headers.next_if("parent")))
    commit.parents.push_back(TRY(ObjectId::parse_hex(parent->value)));
  auto author = TRY(headers.expect("author", "git: commit without an author"));
  commit.author = TRY(Signature::parse(author));
  auto committer = TRY(headers.expect("committer", "git: commit without a committer"));
  commit.committer = TRY(Signature::parse(committer));
  commit.extra_headers = TRY(headers.rest({"tree", "parent", "author", "committer"}));
  commit.message = headers.message();
  return commit;
}

} // namespace morgana::git
