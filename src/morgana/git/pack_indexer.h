#pragma once

// Builds a Pack from a pack stream as it arrives, as `git index-pack` does:
// each entry's header is read and its zlib stream inflated (that is how its
// compressed length is found; whole objects are hashed on the way), the
// trailing SHA-1 over the whole pack is checked, then deltas are resolved
// base first: each base is inflated once and its children (by base offset
// for OFS_DELTA, by base id for REF_DELTA) are resolved while it is at hand,
// depth first, with an explicit stack. A thin pack's missing REF_DELTA bases
// come from an ObjectSource the caller holds.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <bearssl.h>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/inflate.h"
#include "morgana/git/object.h"
#include "morgana/git/pack.h"

namespace morgana::git {

class PackIndexer {
public:
  // `thin_bases`, when given, must outlive the indexer.
  explicit PackIndexer(PackLimits limits = {}, ObjectSource* thin_bases = nullptr);
  PackIndexer(const PackIndexer&) = delete;
  PackIndexer& operator=(const PackIndexer&) = delete;

  // Takes the next bytes of the pack and parses as far as they reach. An
  // error is final: every later call returns it again.
  [[nodiscard]] Result<void> feed(Bytes data);
  // After the last feed: resolves every delta and hands over the pack.
  // Errc::truncated when the pack is not complete; Errc::not_found when a
  // REF_DELTA base is neither in the pack nor in `thin_bases` (missing_base()
  // names it).
  [[nodiscard]] Result<Pack> finish();

  [[nodiscard]] std::size_t received() const { return m_size; }
  [[nodiscard]] std::uint32_t object_count() const { return m_object_count; }
  [[nodiscard]] std::size_t entries_read() const { return m_entries.size(); }
  [[nodiscard]] const std::optional<ObjectId>& missing_base() const { return m_missing_base; }

private:
  [[nodiscard]] Result<void> append(Bytes data);
  [[nodiscard]] Result<void> resize_buffer(std::size_t capacity);
  [[nodiscard]] Result<void> shrink_to_fit();
  [[nodiscard]] Result<void> parse();
  [[nodiscard]] Result<bool> parse_entry_header();
  [[nodiscard]] Result<bool> inflate_entry_data();
  [[nodiscard]] Result<void> check_trailer();
  [[nodiscard]] Result<void> resolve_deltas();
  [[nodiscard]] Result<void> resolve_children(std::uint32_t root, const ObjectId& root_id, Object content);
  void hash_parsed();

  PackLimits m_limits;
  ObjectSource* m_thin_bases;
  PackBytes m_buffer;
  std::size_t m_size = 0;
  std::size_t m_capacity = 0;
  std::size_t m_position = 0; // parsed up to here
  std::size_t m_hashed = 0;   // fed to m_pack_hash up to here
  br_sha1_context m_pack_hash{};

  bool m_header_read = false;
  std::uint32_t m_object_count = 0;
  bool m_complete = false; // trailer received and checked
  bool m_finished = false; // finish() called
  ObjectId m_checksum;

  // The entry being inflated.
  bool m_in_entry = false;
  PackEntry m_entry;
  std::uint64_t m_produced = 0;
  std::optional<ObjectHasher> m_hasher;
  std::unique_ptr<std::byte[]> m_scratch;
  std::unique_ptr<Inflater> m_inflater;

  std::vector<PackEntry> m_entries;
  std::vector<bool> m_resolved;
  // (base entry, child entry) for OFS_DELTA; (base id, child entry) for REF_DELTA; both sorted.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> m_ofs_children;
  std::vector<std::pair<ObjectId, std::uint32_t>> m_ref_children;
  std::optional<ObjectId> m_missing_base;
  std::optional<Error> m_error;
};

} // namespace morgana::git
