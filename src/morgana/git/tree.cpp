#include "morgana/git/tree.h"

#include <algorithm>

namespace morgana::git {

namespace {

Result<TreeMode> parse_mode(std::string_view text) {
  if (text == "100644") return TreeMode::file;
  if (text == "100755") return TreeMode::executable;
  if (text == "120000") return TreeMode::symlink;
  if (text == "40000") return TreeMode::directory;
  if (text == "160000") return TreeMode::submodule;
  return fail(Errc::malformed, "git: tree entry with a mode git does not write");
}

} // namespace

int compare_tree_names(std::string_view a, bool a_is_directory, std::string_view b, bool b_is_directory) {
  auto common = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < common; ++i) {
    auto x = static_cast<unsigned char>(a[i]);
    auto y = static_cast<unsigned char>(b[i]);
    if (x != y) return x < y ? -1 : 1;
  }
  // The shorter name continues with '/' if it is a directory, else ends.
  unsigned x = a.size() > common ? static_cast<unsigned char>(a[common]) : (a_is_directory ? '/' : 0);
  unsigned y = b.size() > common ? static_cast<unsigned char>(b[common]) : (b_is_directory ? '/' : 0);
  return x < y ? -1 : (x > y ? 1 : 0);
}

Result<Tree> Tree::parse(Bytes content) {
  Tree tree;
  ByteReader reader(content);
  while (!reader.at_end()) {
    auto rest = as_string(reader.rest());
    auto space = rest.find(' ');
    if (space == std::string_view::npos) return fail(Errc::malformed, "git: tree entry without a mode");
    auto mode = TRY(parse_mode(rest.substr(0, space)));
    auto nul = rest.find('\0', space + 1);
    if (nul == std::string_view::npos) return fail(Errc::malformed, "git: tree entry name without a NUL");
    auto name = rest.substr(space + 1, nul - space - 1);
    if (name.empty()) return fail(Errc::malformed, "git: tree entry with an empty name");
    if (name.find('/') != std::string_view::npos) return fail(Errc::malformed, "git: tree entry name with a '/'");
    if (name == "." || name == "..") return fail(Errc::malformed, "git: tree entry named . or ..");
    TRY(reader.skip(nul + 1));
    auto raw = TRY(reader.bytes(ObjectId::size));
    TreeEntry entry{mode, name, TRY(ObjectId::from_bytes(raw))};
    if (!tree.entries.empty()) {
      const auto& previous = tree.entries.back();
      int order = compare_tree_names(previous.name, previous.is_directory(), name, entry.is_directory());
      if (order == 0) return fail(Errc::malformed, "git: tree has a duplicate entry");
      if (order > 0) return fail(Errc::malformed, "git: tree entries out of order");
    }
    tree.entries.push_back(entry);
  }
  // A file and a directory of the same name sort apart ("a" < "a.c" < "a/"),
  // so duplicates are looked for among the names sorted plainly.
  std::vector<std::string_view> names;
  names.reserve(tree.entries.size());
  for (const auto& entry : tree.entries) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end())
    return fail(Errc::malformed, "git: tree has a file and a directory of the same name");
  return tree;
}

} // namespace morgana::git
