#include "morgana/git/tree_walk.h"

#include <algorithm>
#include <string>

namespace morgana::git {
namespace {

Result<void> walk_subtree(Repository& repository, const ObjectId& tree_id, std::string& path, std::size_t depth,
                          const TreeVisitor& visit) {
  if (depth > Repository::max_tree_depth) return fail(Errc::limit_reached, "git: trees nest too deeply");
  // The object is held for the whole loop: the entries' names point into it.
  auto object = TRY(repository.read_tree(tree_id));
  auto tree = TRY(Tree::parse(object.data));
  auto prefix_size = path.size();
  for (const auto& entry : tree.entries) {
    path.resize(prefix_size);
    if (prefix_size != 0) path += '/';
    path += entry.name;
    if (entry.is_directory()) {
      TRY(walk_subtree(repository, entry.id, path, depth + 1, visit));
    } else {
      TRY(visit(path, entry));
    }
  }
  path.resize(prefix_size);
  return {};
}

} // namespace

Result<void> walk_tree(Repository& repository, const ObjectId& tree, const TreeVisitor& visit) {
  std::string path;
  return walk_subtree(repository, tree, path, 0, visit);
}

Result<std::optional<TreeMode>> find_mode(Repository& repository, const ObjectId& tree, std::string_view path) {
  auto current = tree;
  for (std::size_t depth = 0;; ++depth) {
    if (depth > Repository::max_tree_depth) return fail(Errc::limit_reached, "git: trees nest too deeply");
    auto slash = path.find('/');
    auto name = path.substr(0, slash);
    auto object = TRY(repository.read_tree(current));
    auto parsed = TRY(Tree::parse(object.data));
    auto found = std::ranges::find(parsed.entries, name, &TreeEntry::name);
    if (found == parsed.entries.end()) return std::optional<TreeMode>();
    // A name held both as a file and as a directory is not valid git, and Tree::parse refuses duplicates.
    if (slash == std::string_view::npos) return std::optional<TreeMode>(found->mode);
    if (!found->is_directory()) return std::optional<TreeMode>();
    current = found->id;
    path.remove_prefix(slash + 1);
  }
}

} // namespace morgana::git
