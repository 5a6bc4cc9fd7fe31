#pragma once

// The grant table, version 1 (xen/include/public/grant_table.h): frames of
// grant_entry_v1 { u16 flags; domid_t domid; u32 frame; } through which this
// domain lets another (the back end of a device) map or copy one of its
// pages. A reference (the entry's index) is what the other domain is told.
// The first 8 entries are Xen's own (GNTTAB_NR_RESERVED_ENTRIES); the rest
// come from a free list. Ending access fails while the other domain still
// has the page mapped or is copying (GTF_reading, GTF_writing), so a page is
// never reused under a back end that still writes it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "morgana/core/memory.h"
#include "morgana/core/result.h"

namespace morgana::pvh::xen {

using GrantRef = std::uint32_t;

class GrantTable {
public:
  static constexpr std::size_t entry_size = 8;
  static constexpr GrantRef reserved_entries = 8;
  // GTF_* flags of a v1 entry.
  static constexpr std::uint16_t permit_access = 1, readonly = 1 << 2, reading = 1 << 3, writing = 1 << 4;

  // Over `frames`: the table as the hypervisor mapped it (grant_table_map),
  // a whole number of pages. Entries past the reserved ones are cleared.
  [[nodiscard]] static Result<std::unique_ptr<GrantTable>> create(std::span<std::byte> frames);

  // Lets domain `domain` reach page `gfn` (read only or writable); the frame
  // and domain are visible before the flags that make the entry valid.
  // Errc::no_space when every reference is in use, Errc::invalid_argument for
  // a frame number that does not fit in 32 bits.
  [[nodiscard]] Result<GrantRef> grant_access(std::uint16_t domain, std::uint64_t gfn, bool read_only);
  // Takes access back and frees the reference: Errc::in_use while the other
  // domain still maps or copies the page (try again later), and
  // Errc::invalid_argument for a reference not granted.
  [[nodiscard]] Result<void> end_access(GrantRef ref);

  [[nodiscard]] std::size_t capacity() const { return m_entries.size() / entry_size; }
  [[nodiscard]] std::size_t free_count() const { return m_free_count; }

private:
  GrantTable(std::span<std::byte> entries, std::unique_ptr<GrantRef[]> free, std::unique_ptr<bool[]> granted);
  friend struct morgana::NothrowNew;
  [[nodiscard]] std::byte* entry(GrantRef ref) const { return m_entries.data() + std::size_t{ref} * entry_size; }

  std::span<std::byte> m_entries;
  std::unique_ptr<GrantRef[]> m_free; // a stack of free references
  std::size_t m_free_count = 0;
  std::unique_ptr<bool[]> m_granted; // by reference: handed out and not ended
};

} // namespace morgana::pvh::xen
