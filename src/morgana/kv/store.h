#pragma once

// A read-only key-value store: what the web server reads files from. Crunch
// (files compiled into the image) implements it today; a git-backed store
// (a repository cloned at boot) will implement the same interface.
//
// Stores hold their contents in memory, so reads do not wait. A Value shares
// ownership of what it points into: a store that is replaced (a new git
// commit fetched) keeps old values valid for requests still sending them.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/core/shared_bytes.h"
#include "morgana/core/time.h"

namespace morgana::kv {

// Keys are '/'-separated paths without a leading '/', e.g. "css/site.css".
using Key = std::string_view;

// The bytes and what keeps them alive (null owner: the image's read-only
// data); shared so that HTTP sends them by reference.
using Value = SharedBytes;

// Alternative encodings a store may hold precomputed for a key.
enum class Encoding : std::uint8_t { identity, gzip };

struct Metadata {
  std::uint64_t size = 0;
  // A strong validator of the content, e.g. the hex of a hash; HTTP uses it
  // as the ETag. Stays valid as long as the store.
  std::string_view digest;
  WallClock::time_point last_modified{};
  // The media type when the store knows it (crunch precomputes it from the
  // file name); empty otherwise, and the reader derives it from the key.
  std::string_view content_type;
  // When the key first appeared (a git store: the commit that added it);
  // zero when the store does not know.
  WallClock::time_point created{};
};

struct ListEntry {
  std::string name; // the last path component
  bool is_directory = false;
};

class Store {
public:
  virtual ~Store() = default;

  // Errc::not_found when `key` is not a value (absent, or a directory).
  [[nodiscard]] virtual Result<Value> get(Key key) const = 0;
  [[nodiscard]] virtual Result<Metadata> metadata(Key key) const = 0;
  // The entries directly below `prefix` ("" is the root), sorted by name;
  // Errc::not_found when `prefix` is not a directory.
  [[nodiscard]] virtual Result<std::vector<ListEntry>> list(Key prefix) const = 0;

  // `key`'s content in `encoding`, when the store holds it precomputed;
  // Errc::not_found otherwise (the caller falls back to get()).
  [[nodiscard]] virtual Result<Value> get_encoded(Key key, Encoding encoding) const {
    if (encoding == Encoding::identity) {
      return get(key);
    }
    return fail(Errc::not_found);
  }
};

} // namespace morgana::kv
