// Feeds arbitrary bytes to the commit, tree and tag parsers and checks what
// readers rely on: every view points into the input, a tree's entries are in
// git's order with no duplicates, parsed ids print as 40 hex digits that parse back.

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "morgana/git/commit.h"
#include "morgana/git/tag.h"
#include "morgana/git/tree.h"

using namespace morgana;
using namespace morgana::git;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_inside(std::string_view view, Bytes input) {
  auto* begin = reinterpret_cast<const char*>(input.data());
  check(view.empty() || (view.data() >= begin && view.data() + view.size() <= begin + input.size()));
}

void check_id(const ObjectId& id) { check(MUST(ObjectId::parse_hex(id.to_hex())) == id); }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  if (auto commit = Commit::parse(input)) {
    check_id(commit->tree);
    for (const auto& parent : commit->parents) check_id(parent);
    check_inside(commit->message, input);
    check_inside(commit->author.name, input);
    for (const auto& header : commit->extra_headers) check_inside(header.value, input);
  }
  if (auto tree = Tree::parse(input)) {
    for (std::size_t i = 0; i < tree->entries.size(); ++i) {
      const auto& entry = tree->entries[i];
      check(!entry.name.empty() && entry.name.find('/') == std::string_view::npos);
      check_inside(entry.name, input);
      if (i > 0) {
        const auto& previous = tree->entries[i - 1];
        check(compare_tree_names(previous.name, previous.is_directory(), entry.name, entry.is_directory()) < 0);
        check(previous.name != entry.name);
      }
    }
  }
  if (auto tag = Tag::parse(input)) {
    check_id(tag->object);
    check(!tag->name.empty());
    check_inside(tag->message, input);
  }
  return 0;
}
