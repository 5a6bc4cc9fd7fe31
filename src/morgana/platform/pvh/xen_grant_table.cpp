#include "morgana/platform/pvh/xen_grant_table.h"

#include <cstring>

#include "morgana/platform/pvh/xen_ring.h"

namespace morgana::pvh::xen {
namespace {

// Offsets in grant_entry_v1.
constexpr std::size_t entry_flags = 0, entry_domid = 2, entry_frame = 4;

} // namespace

Result<std::unique_ptr<GrantTable>> GrantTable::create(std::span<std::byte> frames) {
  if (frames.empty() || frames.size() % page_size != 0)
    return fail(Errc::invalid_argument, "grant table: not a whole number of pages");
  auto count = frames.size() / entry_size;
  auto free = TRY(try_make_unique<GrantRef[]>("grant table free list", count));
  auto granted = TRY(try_make_unique<bool[]>("grant table state", count));
  auto table = TRY(try_make_unique<GrantTable>("grant table", frames, std::move(free), std::move(granted)));
  std::memset(frames.data() + reserved_entries * entry_size, 0, frames.size() - reserved_entries * entry_size);
  // Low references on top, so that the first grants are the first entries.
  for (auto ref = static_cast<GrantRef>(count); ref-- > reserved_entries;) table->m_free[table->m_free_count++] = ref;
  for (std::size_t ref = 0; ref < count; ++ref) table->m_granted[ref] = false;
  return table;
}

GrantTable::GrantTable(std::span<std::byte> entries, std::unique_ptr<GrantRef[]> free, std::unique_ptr<bool[]> granted)
    : m_entries(entries), m_free(std::move(free)), m_granted(std::move(granted)) {}

Result<GrantRef> GrantTable::grant_access(std::uint16_t domain, std::uint64_t gfn, bool read_only) {
  if (gfn > UINT32_MAX) return fail(Errc::invalid_argument, "grant table: frame number past 32 bits");
  if (m_free_count == 0) return fail(Errc::no_space, "grant table full");
  auto ref = m_free[--m_free_count];
  auto* field = entry(ref);
  store_shared(field + entry_frame, static_cast<std::uint32_t>(gfn));
  store_shared(field + entry_domid, domain);
  // The other domain may use the entry as soon as the flags say so (wmb).
  store_shared(field + entry_flags, static_cast<std::uint16_t>(permit_access | (read_only ? readonly : 0)),
               std::memory_order_release);
  m_granted[ref] = true;
  return ref;
}

Result<void> GrantTable::end_access(GrantRef ref) {
  if (ref >= capacity() || !m_granted[ref]) return fail(Errc::invalid_argument, "grant reference not granted");
  // gnttab_end_foreign_access_ref (v1): clear the flags unless the other
  // domain holds the page; it sets GTF_reading/GTF_writing atomically, so a
  // compare-and-exchange decides between it and us.
  auto& flags = *reinterpret_cast<std::uint16_t*>(entry(ref) + entry_flags);
  std::atomic_ref shared(flags);
  auto seen = shared.load(std::memory_order_relaxed);
  do {
    if (seen & (reading | writing)) return fail(Errc::in_use, "grant still mapped by the other domain");
  } while (!shared.compare_exchange_weak(seen, std::uint16_t{0}, std::memory_order_seq_cst));
  m_granted[ref] = false;
  m_free[m_free_count++] = ref;
  return {};
}

} // namespace morgana::pvh::xen
