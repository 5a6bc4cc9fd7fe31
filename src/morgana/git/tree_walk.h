#pragma once

// Every entry of a tree that is not a directory, with its path from the root,
// subtrees entered in place (`git ls-tree -r`'s order); one entry by path.

#include <functional>
#include <optional>
#include <string_view>

#include "morgana/core/result.h"
#include "morgana/git/object_id.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree.h"

namespace morgana::git {

using TreeVisitor = std::function<Result<void>(std::string_view path, const TreeEntry& entry)>;

// Errc::limit_reached beyond Repository::max_tree_depth.
[[nodiscard]] Result<void> walk_tree(Repository& repository, const ObjectId& tree, const TreeVisitor& visit);

// The mode of the entry at `path` ("a/b/c") below `tree`; nullopt when there is none.
[[nodiscard]] Result<std::optional<TreeMode>> find_mode(Repository& repository, const ObjectId& tree,
                                                        std::string_view path);

} // namespace morgana::git
