#pragma once

// A pack received whole (gitformat-pack(5)) and its index: where each object
// starts, what it is, its id. Objects are decoded on demand from the kept
// bytes (inflate, then the delta chain), with a small cache of decoded bases,
// so memory stays near the pack's own size. PackIndexer builds a Pack.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/inflate.h"
#include "morgana/git/object.h"
#include "morgana/git/object_cache.h"
#include "morgana/git/object_id.h"

namespace morgana::git {

struct PackLimits {
  std::size_t max_pack_size = std::size_t{512} << 20;
  std::size_t max_object_size = std::size_t{128} << 20; // inflated, and every delta's result
  std::uint32_t max_delta_depth = 5000;                 // git repack --depth allows up to 4095
  std::uint32_t max_objects = 1u << 24;
  std::size_t cache_budget = std::size_t{4} << 20;   // decoded bases a Pack keeps
  std::size_t resolve_budget = std::size_t{1} << 20; // decoded bases PackIndexer holds while resolving deltas
};

// A pack's bytes, from malloc: PackIndexer grows them with realloc as they
// arrive and trims them to size at the end. Large blocks then move by
// remapping pages (glibc) or shrink in place and grow in place when the space
// after them is free (the pvh heap), instead of being copied into a second
// buffer: for a moment that held the pack twice.
struct FreePackBytes {
  void operator()(std::byte* bytes) const { std::free(bytes); }
};
using PackBytes = std::unique_ptr<std::byte[], FreePackBytes>;

// An entry's type field (gitformat-pack(5) "Object types"); 5 is reserved.
enum class PackEntryKind : std::uint8_t { commit = 1, tree = 2, blob = 3, tag = 4, ofs_delta = 6, ref_delta = 7 };

struct PackEntry {
  static constexpr std::uint32_t no_base = UINT32_MAX;

  std::uint64_t offset = 0;      // of the entry's header in the pack
  std::uint64_t data_offset = 0; // of its zlib stream
  std::uint64_t size = 0;        // inflated size of the stream (for a delta: of the delta)
  std::uint32_t base = no_base;  // a delta's base, as an index into the pack's entries;
                                 // no_base for a thin pack's base held elsewhere
  std::uint32_t depth = 0;       // deltas between this object and a whole one
  PackEntryKind kind = PackEntryKind::blob;
  ObjectType type = ObjectType::blob; // the resolved object's type
  ObjectId id;                        // the resolved object's id
  ObjectId base_id;                   // a REF_DELTA's base
  std::uint64_t base_offset = 0;      // an OFS_DELTA's base

  [[nodiscard]] bool is_delta() const { return kind == PackEntryKind::ofs_delta || kind == PackEntryKind::ref_delta; }
};

class Pack {
public:
  // `entries` in pack order, every id resolved (PackIndexer's job).
  [[nodiscard]] static Result<Pack> create(PackBytes bytes, std::size_t size, std::vector<PackEntry> entries,
                                           ObjectId checksum, PackLimits limits);

  // The object named `id`. A thin pack's external bases come from `external`;
  // Errc::not_found when `id` is not in this pack (or a base is missing).
  [[nodiscard]] Result<Object> read(const ObjectId& id, ObjectSource* external = nullptr);
  [[nodiscard]] Result<Object> read_entry(std::size_t index, ObjectSource* external = nullptr);
  [[nodiscard]] bool contains(const ObjectId& id) const { return find(id).has_value(); }
  [[nodiscard]] std::optional<std::size_t> find(const ObjectId& id) const;

  [[nodiscard]] std::span<const PackEntry> entries() const { return m_entries; }
  [[nodiscard]] Bytes bytes() const { return {m_bytes.get(), m_size}; }
  [[nodiscard]] const ObjectId& checksum() const { return m_checksum; }
  [[nodiscard]] const ObjectCache& cache() const { return m_cache; }

private:
  Pack(PackBytes bytes, std::size_t size, std::vector<PackEntry> entries, ObjectId checksum, PackLimits limits,
       std::unique_ptr<Inflater> inflater);

  PackBytes m_bytes;
  std::size_t m_size;
  std::vector<PackEntry> m_entries;
  std::vector<std::uint32_t> m_by_id; // entry indices sorted by id
  ObjectId m_checksum;
  PackLimits m_limits;
  std::unique_ptr<Inflater> m_inflater;
  ObjectCache m_cache;
};

// An entry's stream inflated into a new buffer of entry.size bytes.
[[nodiscard]] Result<ObjectBuffer> inflate_entry(Inflater& inflater, Bytes pack, const PackEntry& entry);

} // namespace morgana::git
