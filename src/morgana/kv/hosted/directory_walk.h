#pragma once

// Reading a directory as a key-value store's files, with the rules both of its
// readers share: the crunch tool (tools/crunch, at build time) and the hosted
// platform's --store (at boot). Header-only and host-side (std::filesystem,
// stdio), so that the crunch tool compiles it without Morgana's libraries.
//
// Rules: keys are paths under the directory, '/'-separated; names starting
// with '.' (dotfiles, .git) are skipped; symbolic links are followed when they
// stay inside the directory and refused otherwise; anything but regular files
// and directories is refused. One file holds at most 64 MiB, a store 256 MiB.

#include <bearssl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "morgana/core/ascii.h"

namespace morgana::directory_walk {

namespace fs = std::filesystem;

constexpr std::uint64_t max_file_size = 64ULL << 20;
constexpr std::uint64_t max_store_size = 256ULL << 20;

// A failure: a message naming the file or directory at fault.
template <class T>
using Outcome = std::expected<T, std::string>;

inline std::unexpected<std::string> failure(std::string message) { return std::unexpected(std::move(message)); }

// "3 MiB", rounded up.
inline std::string mebibytes(std::uint64_t size) { return std::to_string((size + (1U << 20) - 1) >> 20) + " MiB"; }

// Store names: C identifiers (crunch turns them into symbols), at most 64 characters.
inline bool valid_store_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (!ascii::is_alpha(name[0]) && name[0] != '_') return false;
  return std::ranges::all_of(name, [](char c) { return ascii::is_alnum(c) || c == '_'; });
}

struct File {
  std::string key;
  fs::path path;          // as found under the directory (through any symbolic link)
  std::int64_t mtime = 0; // seconds since the Unix epoch
};

struct Walk {
  fs::path root;           // canonical
  std::vector<File> files; // sorted by key (byte-wise)
  // Every directory read and every link target: what a build depends on besides the files.
  std::vector<fs::path> dependencies;
};

inline std::string sha256_hex(std::string_view content) {
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, content.data(), content.size());
  unsigned char digest[br_sha256_SIZE];
  br_sha256_out(&context, digest);
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string text;
  text.reserve(2 * br_sha256_SIZE);
  for (unsigned char byte : digest) {
    text += hex[byte >> 4];
    text += hex[byte & 15];
  }
  return text;
}

// The whole file, or as much of it as goes just over `limit` bytes; nullopt
// when it cannot be read (errno says why).
inline std::optional<std::string> read_file(const fs::path& path, std::uint64_t limit) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return std::nullopt;
  std::string content;
  std::vector<char> buffer(std::size_t{1} << 16);
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    content.append(buffer.data(), n);
    if (content.size() > limit) break;
  }
  bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return std::nullopt;
  return content;
}

// A walked file's content, within the limit for one file.
inline Outcome<std::string> read_content(const File& file) {
  std::error_code error;
  auto size = fs::file_size(file.path, error);
  if (error) return failure(file.path.string() + ": " + error.message());
  if (size > max_file_size) {
    return failure(file.path.string() + ": " + mebibytes(size) + " is over the limit of " + mebibytes(max_file_size) +
                   " for one file");
  }
  auto content = read_file(file.path, max_file_size);
  if (!content) return failure(file.path.string() + ": cannot read: " + std::strerror(errno));
  if (content->size() > max_file_size) return failure(file.path.string() + ": grew over " + mebibytes(max_file_size));
  return std::move(*content);
}

namespace detail {

class Walker {
public:
  explicit Walker(Walk& walk) : m_walk(walk), m_stack{walk.root} {}

  Outcome<void> walk_directory(const fs::path& directory, const std::string& prefix) {
    m_walk.dependencies.push_back(directory);
    std::error_code error;
    fs::directory_iterator it(directory, error);
    std::vector<fs::path> children;
    for (; !error && it != fs::directory_iterator(); it.increment(error)) children.push_back(it->path());
    if (error) return failure(directory.string() + ": cannot read directory: " + error.message());
    for (const auto& child : children) {
      if (auto visited = visit(child, prefix); !visited) return visited;
    }
    return {};
  }

private:
  Outcome<void> visit(const fs::path& path, const std::string& prefix) {
    std::string name = path.filename().string();
    if (name.starts_with('.')) return {}; // dotfiles, .git
    std::string key = prefix + name;
    std::error_code error;
    auto status = fs::symlink_status(path, error);
    if (error) return failure(path.string() + ": " + error.message());
    fs::path target = path;
    if (fs::is_symlink(status)) {
      target = fs::canonical(path, error);
      if (error) return failure(path.string() + ": symbolic link to nothing (" + error.message() + ")");
      if (!inside_root(target)) {
        return failure(path.string() + ": symbolic link leads outside " + m_walk.root.string() + " (to " +
                       target.string() + "); copy the file into the directory instead");
      }
      status = fs::status(target, error);
      if (error) return failure(path.string() + ": " + error.message());
    }
    if (fs::is_directory(status)) {
      auto canonical = fs::canonical(target, error);
      if (error) return failure(path.string() + ": " + error.message());
      if (std::ranges::find(m_stack, canonical) != m_stack.end()) {
        return failure(path.string() + ": symbolic link loop (leads back to " + canonical.string() + ")");
      }
      m_stack.push_back(canonical);
      auto walked = walk_directory(path, key + "/");
      m_stack.pop_back();
      return walked;
    }
    if (!fs::is_regular_file(status)) return failure(path.string() + ": neither a regular file nor a directory");
    auto time = fs::last_write_time(path, error);
    if (error) return failure(path.string() + ": " + error.message());
    auto seconds = std::chrono::floor<std::chrono::seconds>(std::chrono::file_clock::to_sys(time));
    m_walk.files.push_back(File{std::move(key), path, seconds.time_since_epoch().count()});
    if (target != path) m_walk.dependencies.push_back(target); // the link's target: a dependency too
    return {};
  }

  bool inside_root(const fs::path& canonical) const {
    auto relative = canonical.lexically_relative(m_walk.root);
    return !relative.empty() && *relative.begin() != "..";
  }

  Walk& m_walk;
  std::vector<fs::path> m_stack; // the directories being walked, canonical: a link back to one is a loop
};

} // namespace detail

// The regular files under `directory` by the rules above, sorted by key.
inline Outcome<Walk> walk(const fs::path& directory) {
  Walk found;
  std::error_code error;
  found.root = fs::canonical(directory, error);
  if (error) return failure(directory.string() + ": " + error.message());
  if (!fs::is_directory(found.root, error)) return failure(directory.string() + ": not a directory");
  detail::Walker walker(found);
  if (auto walked = walker.walk_directory(found.root, ""); !walked) return std::unexpected(std::move(walked.error()));
  std::ranges::sort(found.files, {}, &File::key);
  return found;
}

} // namespace morgana::directory_walk
