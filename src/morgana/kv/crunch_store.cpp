#include "morgana/kv/crunch_store.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

namespace morgana::kv {
namespace {

Value read_only(const std::byte* data, std::uint64_t size) { return Value{Bytes{data, size}, nullptr}; }

} // namespace

const CrunchEntry* CrunchStore::find(Key key) const {
  auto entries = m_table->entries;
  auto it = std::ranges::lower_bound(entries, key, {}, &CrunchEntry::key);
  if (it == entries.end() || it->key != key) return nullptr;
  return &*it;
}

Result<Value> CrunchStore::get(Key key) const {
  const auto* entry = find(key);
  if (entry == nullptr) return fail(Errc::not_found);
  return read_only(entry->data, entry->size);
}

Result<Metadata> CrunchStore::metadata(Key key) const {
  const auto* entry = find(key);
  if (entry == nullptr) return fail(Errc::not_found);
  return Metadata{
      .size = entry->size,
      .digest = entry->digest,
      .last_modified = WallClock::time_point{std::chrono::seconds{entry->last_modified}},
      .content_type = entry->content_type,
  };
}

Result<Value> CrunchStore::get_encoded(Key key, Encoding encoding) const {
  const auto* entry = find(key);
  if (entry == nullptr) return fail(Errc::not_found);
  switch (encoding) {
  case Encoding::identity: return read_only(entry->data, entry->size);
  case Encoding::gzip:
    if (entry->gzip == nullptr) return fail(Errc::not_found);
    return read_only(entry->gzip, entry->gzip_size);
  }
  return fail(Errc::not_found);
}

Result<std::vector<ListEntry>> CrunchStore::list(Key prefix) const {
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  // Keys below a directory "d" all start with "d/" and so are adjacent in
  // sorted order, from the first key not less than "d/".
  std::string directory{prefix};
  if (!directory.empty()) directory += '/';
  auto entries = m_table->entries;
  auto it = std::ranges::lower_bound(entries, std::string_view{directory}, {}, &CrunchEntry::key);

  std::vector<ListEntry> listing;
  for (; it != entries.end() && it->key.starts_with(directory); ++it) {
    auto rest = it->key.substr(directory.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      if (!rest.empty()) listing.push_back(ListEntry{std::string{rest}, false});
      continue;
    }
    auto child = rest.substr(0, slash);
    if (!listing.empty() && listing.back().is_directory && listing.back().name == child) continue;
    listing.push_back(ListEntry{std::string{child}, true});
  }
  // The root always exists; any other directory exists by holding a file.
  if (listing.empty() && !directory.empty()) return fail(Errc::not_found);
  // Key order is not name order: "a-b" sorts before "a/x", yet directory "a" before file "a-b".
  std::ranges::sort(listing, {}, &ListEntry::name);
  return listing;
}

// The default for binaries linked without a generated registry (unit tests,
// fuzzers): weak, so that an application's registry replaces it.
[[gnu::weak]] std::span<const CrunchStore* const> crunched_stores() { return {}; }

const Store* crunched(std::string_view name) {
  for (const auto* store : crunched_stores()) {
    if (store->name() == name) return store;
  }
  return nullptr;
}

void CrunchedNames::format(FormatSink& sink) const {
  auto stores = crunched_stores();
  if (stores.empty()) {
    sink.write("none");
    return;
  }
  for (std::size_t i = 0; i < stores.size(); ++i) {
    if (i > 0) sink.write(", ");
    sink.write(stores[i]->name());
  }
}

} // namespace morgana::kv
