#include "morgana/git/tree_store.h"

#include <algorithm>
#include <utility>

#include "morgana/git/tree_walk.h"

namespace morgana::git {
namespace {

TreeStore::Kind kind_of(TreeMode mode) {
  switch (mode) {
  case TreeMode::executable: return TreeStore::Kind::executable;
  case TreeMode::symlink: return TreeStore::Kind::symlink;
  case TreeMode::submodule: return TreeStore::Kind::submodule;
  default: return TreeStore::Kind::file;
  }
}

} // namespace

Result<std::shared_ptr<const TreeStore>> TreeStore::create(Repository& repository, const ObjectId& commit,
                                                           const PathHistory* history, const TreeStore* previous) {
  // Dates of another commit would be wrong for every path changed in between.
  if (history != nullptr && history->head() != commit)
    return fail(Errc::invalid_argument, "git: the path history is not at this commit");
  auto read = TRY(repository.read_commit(commit));
  std::shared_ptr<TreeStore> store(new TreeStore(repository, commit));
  TRY(walk_tree(repository, read.commit.tree, [&](std::string_view path, const TreeEntry& entry) -> Result<void> {
    Stored stored{
        .path = std::string(path), .id = entry.id, .digest = entry.id.hex_digits(), .kind = kind_of(entry.mode)};
    if (history != nullptr) {
      if (const auto* dates = history->find(path)) stored.dates = *dates;
    }
    if (previous != nullptr) {
      const auto* before = previous->find(path);
      if (before != nullptr && before->id == entry.id) stored.size = before->size;
    }
    store->m_entries.push_back(std::move(stored));
    return {};
  }));
  // git's tree order puts "a.txt" before the files of "a/"; lookups want plain byte order.
  std::ranges::sort(store->m_entries, {}, &Stored::path);
  store->m_shallow = history != nullptr ? history->shallow() : repository.is_shallow();
  return std::shared_ptr<const TreeStore>(std::move(store));
}

const TreeStore::Stored* TreeStore::find(kv::Key key) const {
  auto found = std::ranges::lower_bound(m_entries, key, {},
                                        [](const Stored& stored) -> std::string_view { return stored.path; });
  return found != m_entries.end() && found->path == key ? &*found : nullptr;
}

Result<const TreeStore::Stored*> TreeStore::find_blob(kv::Key key) const {
  const auto* stored = find(key);
  if (stored == nullptr) return fail(Errc::not_found, "git: no such file in the tree");
  if (stored->kind == Kind::symlink) return fail(Errc::not_found, "git: a symlink, not served");
  if (stored->kind == Kind::submodule) return fail(Errc::not_found, "git: a submodule, not served");
  return stored;
}

Result<kv::Value> TreeStore::get(kv::Key key) const {
  const auto* stored = TRY(find_blob(key));
  auto object = TRY(m_repository.store().read(stored->id));
  if (object.type != ObjectType::blob) return fail(Errc::malformed, "git: a tree entry for a file is not a blob");
  stored->size = object.data.size();
  return kv::Value{.data = object.data, .owner = std::move(object.owner)};
}

Result<kv::Metadata> TreeStore::metadata(kv::Key key) const {
  const auto* stored = TRY(find_blob(key));
  if (!stored->size) {
    auto object = TRY(m_repository.store().read(stored->id));
    if (object.type != ObjectType::blob) return fail(Errc::malformed, "git: a tree entry for a file is not a blob");
    stored->size = object.data.size();
  }
  return kv::Metadata{.size = *stored->size,
                      .digest = std::string_view(stored->digest.data(), stored->digest.size()),
                      .last_modified = stored->dates.last_modified,
                      .created = stored->dates.created};
}

Result<TreeStore::Entry> TreeStore::entry(kv::Key key) const {
  const auto* stored = find(key);
  if (stored == nullptr) return fail(Errc::not_found, "git: no such path in the tree");
  return Entry{.kind = stored->kind, .id = stored->id};
}

Result<std::vector<kv::ListEntry>> TreeStore::list(kv::Key prefix) const {
  // "a/" lists "a", as the crunch store does.
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  std::string below(prefix);
  if (!below.empty()) below += '/';
  // The paths below a directory are contiguous in byte order.
  auto first = std::ranges::lower_bound(m_entries, std::string_view(below), {},
                                        [](const Stored& stored) -> std::string_view { return stored.path; });
  std::vector<kv::ListEntry> entries;
  for (auto it = first; it != m_entries.end() && std::string_view(it->path).starts_with(below); ++it) {
    auto rest = std::string_view(it->path).substr(below.size());
    auto slash = rest.find('/');
    auto name = rest.substr(0, slash);
    if (!entries.empty() && entries.back().name == name) continue; // another file of the same directory
    entries.push_back({.name = std::string(name), .is_directory = slash != std::string_view::npos});
  }
  // The root of an empty tree is still a directory; any other prefix with nothing below is not one.
  if (entries.empty() && !below.empty()) return fail(Errc::not_found, "git: no such directory in the tree");
  std::ranges::sort(entries, {}, &kv::ListEntry::name);
  return entries;
}

} // namespace morgana::git
