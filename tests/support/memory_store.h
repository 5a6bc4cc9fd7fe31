#pragma once

// A kv::Store over a map of path → text, for unit tests of what reads a store
// (a blog's configuration, its articles). Directories are implied by the
// paths, as in a git tree. Files put with dates also get a digest of their
// text (as a git store's blob id), so that readers can tell changed files.

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/time.h"
#include "morgana/kv/store.h"

namespace morgana::test {

class MemoryStore final : public kv::Store {
public:
  MemoryStore() = default;
  MemoryStore(std::initializer_list<std::pair<const std::string, std::string>> files) {
    for (const auto& [key, content] : files) put(key, content);
  }

  void put(std::string key, std::string content) { m_files[std::move(key)] = File{.content = std::move(content)}; }
  // A file with the dates a git store gives (created, last modified) and a digest of its text.
  void put(std::string key, std::string content, WallClock::time_point created, WallClock::time_point modified) {
    // FNV-1a: enough to tell test files apart.
    std::uint64_t hash = 0xcbf29ce484222325;
    for (char c : content) hash = (hash ^ static_cast<unsigned char>(c)) * 0x100000001b3;
    std::string digest;
    for (int shift = 60; shift >= 0; shift -= 4) digest += "0123456789abcdef"[(hash >> shift) & 0xf];
    m_files[std::move(key)] = File{std::move(content), created, modified, std::move(digest)};
  }
  void remove(const std::string& key) { m_files.erase(key); }

  [[nodiscard]] Result<kv::Value> get(kv::Key key) const override {
    auto found = m_files.find(std::string(key));
    if (found == m_files.end()) return fail(Errc::not_found);
    return kv::Value{as_bytes(found->second.content), nullptr};
  }
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key key) const override {
    auto found = m_files.find(std::string(key));
    if (found == m_files.end()) return fail(Errc::not_found);
    const auto& file = found->second;
    return kv::Metadata{
        .size = file.content.size(), .digest = file.digest, .last_modified = file.modified, .created = file.created};
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
  struct File {
    std::string content;
    WallClock::time_point created{};
    WallClock::time_point modified{};
    std::string digest; // empty for files put without dates
  };
  std::map<std::string, File> m_files;
};

} // namespace morgana::test
