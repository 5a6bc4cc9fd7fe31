#pragma once

// A tree object: entries "<octal mode> <name>\0<20-byte id>", sorted as git
// sorts them (a directory's name compares as if it ended in '/').

#include <cstdint>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/object_id.h"

namespace morgana::git {

// The modes git writes (fsck's "badFilemode" rejects others).
enum class TreeMode : std::uint32_t {
  file = 0100644,
  executable = 0100755,
  symlink = 0120000,
  directory = 0040000,
  submodule = 0160000, // a gitlink: the id is a commit in another repository
};

struct TreeEntry {
  TreeMode mode = TreeMode::file;
  std::string_view name;
  ObjectId id;

  [[nodiscard]] bool is_directory() const { return mode == TreeMode::directory; }
};

struct Tree {
  std::vector<TreeEntry> entries; // in the object's (git's) order

  // Names point into `content`, which must outlive the Tree. Strict: only the
  // modes above, written as git writes them ("40000", no leading zero); no
  // empty names, '/', ".", ".."; no duplicate names; git's order.
  [[nodiscard]] static Result<Tree> parse(Bytes content);
};

// git's tree order (tree.c base_name_compare): < 0 when `a` sorts before `b`.
[[nodiscard]] int compare_tree_names(std::string_view a, bool a_is_directory, std::string_view b, bool b_is_directory);

} // namespace morgana::git
