#pragma once

// A kv::Store over a map of path → text, for unit tests of what reads a store
// (a blog's configuration, its articles). Directories are implied by the
// paths, as in a git tree.

#include <algorithm>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/kv/store.h"

namespace morgana::test {

class MemoryStore final : public kv::Store {
public:
  MemoryStore() = default;
  MemoryStore(std::initializer_list<std::pair<const std::string, std::string>> files) : m_files(files) {}

  void put(std::string key, std::string content) { m_files[std::move(key)] = std::move(content); }

  [[nodiscard]] Result<kv::Value> get(kv::Key key) const override {
    auto found = m_files.find(std::string(key));
    if (found == m_files.end()) return fail(Errc::not_found);
    return kv::Value{as_bytes(found->second), nullptr};
  }
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key key) const override {
    auto found = m_files.find(std::string(key));
    if (found == m_files.end()) return fail(Errc::not_found);
    return kv::Metadata{.size = found->second.size()};
  }
  [[nodiscard]] Result<std::vector<kv::ListEntry>> list(kv::Key prefix) const override {
    std::string directory = prefix.empty() ? "" : std::string(prefix) + "/";
    std::vector<kv::ListEntry> entries;
    for (auto it = m_files.lower_bound(directory); it != m_files.end() && it->first.starts_with(directory); ++it) {
      auto rest = std::string_view(it->first).substr(directory.size());
      auto slash = rest.find('/');
      auto name = rest.substr(0, slash);
      // Paths below one directory are adjacent in the map: list it once.
      if (!entries.empty() && entries.back().name == name) continue;
      entries.push_back({std::string(name), slash != std::string_view::npos});
    }
    if (entries.empty()) return fail(Errc::not_found);
    // Map order puts "b.txt" before the directory "b" (whose paths go on with '/').
    std::ranges::sort(entries, {}, &kv::ListEntry::name);
    return entries;
  }

private:
  std::map<std::string, std::string> m_files;
};

} // namespace morgana::test
