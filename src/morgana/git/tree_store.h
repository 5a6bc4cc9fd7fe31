#pragma once

// A kv::Store over one commit's tree: path → blob, directory listings, and
// metadata (size, digest = the blob id's hex, last-modified and created from a
// PathHistory). Blobs are decoded on demand through the repository's
// ObjectStore (its bounded cache); a Value's owner keeps the decoded bytes
// alive after the store is replaced.
//
// Symlinks and submodules are not followed and not served: get() and
// metadata() give Errc::not_found saying what they are, entry() reports them,
// and list() shows them as entries that are not directories (a listing shows
// what the tree holds).
//
//   auto store = TRY(git::TreeStore::create(repository, *repository.head(), &history, old_store.get()));

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "morgana/core/result.h"
#include "morgana/core/time.h"
#include "morgana/git/object_id.h"
#include "morgana/git/path_history.h"
#include "morgana/git/repository.h"
#include "morgana/kv/store.h"

namespace morgana::git {

class TreeStore final : public kv::Store {
public:
  // A snapshot of `commit`'s tree; dates from `history` (null: no dates;
  // Errc::invalid_argument unless the history was updated to `commit`);
  // `previous` (may be null) lets unchanged blobs (same id) reuse what was
  // computed for them (their sizes) instead of decoding them again. The
  // repository must outlive the store (fetches only add packs to it).
  [[nodiscard]] static Result<std::shared_ptr<const TreeStore>> create(Repository& repository, const ObjectId& commit,
                                                                       const PathHistory* history,
                                                                       const TreeStore* previous = nullptr);

  [[nodiscard]] Result<kv::Value> get(kv::Key key) const override;
  // size, digest (the blob id's 40 hex digits), last_modified and created.
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key key) const override;
  [[nodiscard]] Result<std::vector<kv::ListEntry>> list(kv::Key prefix) const override;

  enum class Kind : std::uint8_t { file, executable, symlink, submodule };
  struct Entry {
    Kind kind;
    ObjectId id;
  };
  // How a path is held, symlinks and submodules included; Errc::not_found
  // for a directory or an absent path.
  [[nodiscard]] Result<Entry> entry(kv::Key key) const;
  [[nodiscard]] bool shallow() const { return m_shallow; }
  [[nodiscard]] const ObjectId& commit() const { return m_commit; }
  [[nodiscard]] std::size_t size() const { return m_entries.size(); } // paths that are not directories

private:
  struct Stored {
    std::string path;
    ObjectId id;
    std::array<char, ObjectId::hex_size> digest;
    Kind kind;
    // The blob's size once decoded (or taken from the previous store).
    mutable std::optional<std::uint64_t> size;
    PathDates dates;
  };

  TreeStore(Repository& repository, const ObjectId& commit) : m_repository(repository), m_commit(commit) {}
  [[nodiscard]] const Stored* find(kv::Key key) const;
  [[nodiscard]] Result<const Stored*> find_blob(kv::Key key) const;

  Repository& m_repository;
  ObjectId m_commit;
  bool m_shallow = false;
  std::vector<Stored> m_entries; // sorted by path, bytewise
};

} // namespace morgana::git
