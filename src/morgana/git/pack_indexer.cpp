#include "morgana/git/pack_indexer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/git/delta.h"

namespace morgana::git {

namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t scratch_size = 64 * 1024;
constexpr std::size_t first_capacity = 64 * 1024;

log::Source log_git("git");

bool is_valid_kind(unsigned kind) { return (kind >= 1 && kind <= 4) || kind == 6 || kind == 7; }

} // namespace

PackIndexer::PackIndexer(PackLimits limits, ObjectSource* thin_bases) : m_limits(limits), m_thin_bases(thin_bases) {
  br_sha1_init(&m_pack_hash);
}

Result<void> PackIndexer::feed(Bytes data) {
  if (m_error) return std::unexpected(*m_error);
  if (m_finished) return fail(Errc::invalid_argument, "git: pack fed after finish()");
  auto result = [&]() -> Result<void> {
    TRY(append(data));
    return parse();
  }();
  if (!result) m_error = result.error();
  return result;
}

Result<void> PackIndexer::append(Bytes data) {
  if (data.empty()) return {};
  if (data.size() > m_limits.max_pack_size - m_size)
    return fail(Errc::limit_reached, "git: pack exceeds its size limit");
  if (m_size + data.size() > m_capacity) {
    // Doubling keeps the moves linear; the limit caps the last step.
    auto capacity = std::max({first_capacity, m_capacity * 2, m_size + data.size()});
    TRY(resize_buffer(std::min(capacity, m_limits.max_pack_size)));
  }
  std::memcpy(m_buffer.get() + m_size, data.data(), data.size());
  m_size += data.size();
  return {};
}

// realloc, not a new buffer and a copy: see PackBytes. On failure the buffer
// is left as it was.
Result<void> PackIndexer::resize_buffer(std::size_t capacity) {
  auto* resized = static_cast<std::byte*>(std::realloc(m_buffer.get(), capacity));
  if (resized == nullptr) return fail(Errc::no_memory, "git pack bytes");
  (void)m_buffer.release();
  m_buffer.reset(resized);
  m_capacity = capacity;
  return {};
}

// The Pack keeps the bytes for its lifetime: no doubling slack.
Result<void> PackIndexer::shrink_to_fit() {
  if (m_capacity - m_size <= m_size / 16) return {};
  return resize_buffer(m_size);
}

void PackIndexer::hash_parsed() {
  br_sha1_update(&m_pack_hash, m_buffer.get() + m_hashed, m_position - m_hashed);
  m_hashed = m_position;
}

Result<void> PackIndexer::parse() {
  if (!m_header_read) {
    if (m_size < header_size) return {};
    ByteReader reader(Bytes(m_buffer.get(), m_size));
    if (as_string(TRY(reader.bytes(4))) != "PACK") return fail(Errc::malformed, "git: pack does not start with PACK");
    auto version = TRY(reader.u32());
    if (version != 2 && version != 3) return fail(Errc::unsupported, "git: pack version is not 2 or 3");
    m_object_count = TRY(reader.u32());
    if (m_object_count > m_limits.max_objects) return fail(Errc::limit_reached, "git: pack holds too many objects");
    m_position = header_size;
    m_header_read = true;
    m_scratch = TRY(try_make_unique<std::byte[]>("git inflate scratch", scratch_size));
    m_inflater = TRY(try_make_unique<Inflater>("git pack inflater"));
    hash_parsed();
  }
  while (m_entries.size() < m_object_count) {
    if (!m_in_entry && !TRY(parse_entry_header())) return {};
    bool done = TRY(inflate_entry_data());
    hash_parsed();
    if (!done) return {};
  }
  return check_trailer();
}

// The entry header: type and size (gitformat-pack(5) "Packed object data"),
// then a negative offset (OFS_DELTA) or a base id (REF_DELTA). false: more bytes needed.
Result<bool> PackIndexer::parse_entry_header() {
  ByteReader reader(Bytes(m_buffer.get(), m_size).subspan(m_position));
  auto parsed = [&]() -> Result<PackEntry> {
    PackEntry entry;
    entry.offset = m_position;
    auto byte = TRY(reader.u8());
    unsigned kind = (byte >> 4) & 7;
    if (!is_valid_kind(kind)) return fail(Errc::malformed, "git: pack entry of reserved type 0 or 5");
    entry.kind = static_cast<PackEntryKind>(kind);
    std::uint64_t size = byte & 0x0f;
    for (unsigned shift = 4; byte & 0x80; shift += 7) {
      if (shift > 60) return fail(Errc::malformed, "git: pack entry size varint too long");
      byte = TRY(reader.u8());
      size |= std::uint64_t{byte & 0x7fu} << shift;
    }
    if (size > m_limits.max_object_size)
      return fail(Errc::limit_reached, "git: pack entry exceeds the object size limit");
    entry.size = size;
    if (entry.kind == PackEntryKind::ofs_delta) {
      // Big-endian base-128 with an offset of one added per continuation byte.
      byte = TRY(reader.u8());
      std::uint64_t distance = byte & 0x7f;
      while (byte & 0x80) {
        if (distance > (UINT64_MAX >> 8)) return fail(Errc::malformed, "git: OFS_DELTA offset too large");
        byte = TRY(reader.u8());
        distance = ((distance + 1) << 7) | (byte & 0x7f);
      }
      if (distance == 0 || distance > entry.offset - header_size)
        return fail(Errc::malformed, "git: OFS_DELTA base before the pack's first entry");
      entry.base_offset = entry.offset - distance;
    } else if (entry.kind == PackEntryKind::ref_delta) {
      auto raw = TRY(reader.bytes(ObjectId::size));
      entry.base_id = TRY(ObjectId::from_bytes(raw));
    }
    return entry;
  }();
  if (!parsed) {
    if (parsed.error() == Errc::truncated) return false;
    return std::unexpected(parsed.error());
  }
  m_entry = *parsed;
  m_entry.data_offset = m_position + reader.position();
  m_position = m_entry.data_offset;
  m_produced = 0;
  m_in_entry = true;
  if (!m_entry.is_delta()) {
    m_entry.type = static_cast<ObjectType>(m_entry.kind);
    m_hasher.emplace(m_entry.type, m_entry.size);
  } else {
    m_hasher.reset();
  }
  TRY(m_inflater->start());
  return true;
}

// Inflates the current entry as far as the bytes received reach; true once its stream ended.
Result<bool> PackIndexer::inflate_entry_data() {
  MutableBytes scratch(m_scratch.get(), scratch_size);
  for (;;) {
    auto step = TRY(m_inflater->step(Bytes(m_buffer.get(), m_size).subspan(m_position), scratch));
    m_position += step.consumed;
    if (step.produced > m_entry.size - m_produced)
      return fail(Errc::malformed, "git: pack entry inflates past its declared size");
    m_produced += step.produced;
    if (m_hasher) m_hasher->update(scratch.first(step.produced));
    if (step.finished) break;
    if (step.consumed == 0 && step.produced == 0) return false;
  }
  if (m_produced != m_entry.size) return fail(Errc::malformed, "git: pack entry inflates short of its declared size");
  if (m_hasher) m_entry.id = m_hasher->finish();
  m_entries.push_back(m_entry);
  m_in_entry = false;
  return true;
}

Result<void> PackIndexer::check_trailer() {
  if (m_complete) {
    if (m_size > m_position) return fail(Errc::malformed, "git: bytes after the pack's trailer");
    return {};
  }
  if (m_size - m_position < ObjectId::size) return {};
  if (m_size - m_position > ObjectId::size) return fail(Errc::malformed, "git: bytes after the pack's trailer");
  std::byte digest[ObjectId::size];
  br_sha1_out(&m_pack_hash, digest);
  if (std::memcmp(digest, m_buffer.get() + m_position, ObjectId::size) != 0)
    return fail(Errc::bad_checksum, "git: pack trailer does not match its SHA-1");
  m_checksum = MUST(ObjectId::from_bytes(digest));
  m_position = m_size;
  m_complete = true;
  return {};
}

Result<Pack> PackIndexer::finish() {
  if (m_error) return std::unexpected(*m_error);
  if (m_finished) return fail(Errc::invalid_argument, "git: finish() called twice");
  m_finished = true;
  auto result = [&]() -> Result<Pack> {
    if (!m_complete) return fail(Errc::truncated, "git: pack ends early");
    TRY(resolve_deltas());
    TRY(shrink_to_fit());
    return Pack::create(std::move(m_buffer), m_size, std::move(m_entries), m_checksum, m_limits);
  }();
  if (!result) m_error = result.error();
  return result;
}

Result<void> PackIndexer::resolve_deltas() {
  auto count = static_cast<std::uint32_t>(m_entries.size());
  m_resolved.assign(count, false);
  for (std::uint32_t i = 0; i < count; ++i) {
    auto& entry = m_entries[i];
    if (entry.kind == PackEntryKind::ofs_delta) {
      auto base = std::lower_bound(m_entries.begin(), m_entries.begin() + i, entry.base_offset,
                                   [](const PackEntry& e, std::uint64_t offset) { return e.offset < offset; });
      if (base == m_entries.begin() + i || base->offset != entry.base_offset)
        return fail(Errc::malformed, "git: OFS_DELTA base offset is not an entry's start");
      entry.base = static_cast<std::uint32_t>(base - m_entries.begin());
      m_ofs_children.emplace_back(entry.base, i);
    } else if (entry.kind == PackEntryKind::ref_delta) {
      m_ref_children.emplace_back(entry.base_id, i);
    } else {
      m_resolved[i] = true;
    }
  }
  std::sort(m_ofs_children.begin(), m_ofs_children.end());
  std::sort(m_ref_children.begin(), m_ref_children.end());

  // Whole objects are the roots; one is inflated only when deltas build on it.
  for (std::uint32_t i = 0; i < count; ++i) {
    if (m_entries[i].is_delta()) continue;
    auto ofs = std::lower_bound(m_ofs_children.begin(), m_ofs_children.end(), std::pair{i, 0u});
    auto ref = std::lower_bound(m_ref_children.begin(), m_ref_children.end(), std::pair{m_entries[i].id, 0u});
    bool has_children = (ofs != m_ofs_children.end() && ofs->first == i) ||
                        (ref != m_ref_children.end() && ref->first == m_entries[i].id);
    if (!has_children) continue;
    auto content = TRY(inflate_entry(*m_inflater, Bytes(m_buffer.get(), m_size), m_entries[i]));
    TRY(resolve_children(i, m_entries[i].id, content.object(m_entries[i].type)));
  }
  // A thin pack: REF_DELTA bases the pack does not hold.
  for (const auto& [base_id, child] : m_ref_children) {
    if (m_resolved[child]) continue;
    auto base = m_thin_bases ? m_thin_bases->read(base_id) : fail(Errc::not_found);
    if (!base) {
      m_missing_base = base_id;
      log_git.warn("pack: REF_DELTA base {} is neither in the pack nor held", base_id);
      if (base.error() != Errc::not_found) return std::unexpected(base.error());
      return fail(Errc::not_found, "git: a REF_DELTA base is neither in the pack nor held (see missing_base())");
    }
    TRY(resolve_children(PackEntry::no_base, base_id, *base));
    // resolve_children() started from the external base resolves every child of base_id.
  }
  for (std::uint32_t i = 0; i < count; ++i)
    if (!m_resolved[i]) return fail(Errc::malformed, "git: delta whose base never resolves (a cycle)");
  return {};
}

// Resolves every delta built on `content` (entry `root` named `root_id`, or
// an external base when root is no_base), depth first with an explicit stack: each frame holds
// a resolved object and the next of its children to visit. Every frame below the top is an
// ancestor of it. Past m_limits.resolve_budget bytes of content on the stack, the lowest
// frames let theirs go (a file's history can stack dozens of versions of a 200 KB file);
// when the walk comes back to such a frame, its content is rebuilt from the nearest frame
// below that still holds one, through the deltas in between, as git index-pack does with
// its delta_base_cache_limit.
Result<void> PackIndexer::resolve_children(std::uint32_t root, const ObjectId& root_id, Object content) {
  struct Frame {
    Object content;
    bool held;
    ObjectId id;
    std::uint32_t index;
    std::uint32_t depth;
    std::size_t next_ofs;
    std::size_t next_ref;
  };
  auto first_ofs = [&](std::uint32_t index) -> std::size_t {
    if (index == PackEntry::no_base) return m_ofs_children.size();
    return std::lower_bound(m_ofs_children.begin(), m_ofs_children.end(), std::pair{index, 0u}) -
           m_ofs_children.begin();
  };
  auto first_ref = [&](const ObjectId& id) -> std::size_t {
    return std::lower_bound(m_ref_children.begin(), m_ref_children.end(), std::pair{id, 0u}) - m_ref_children.begin();
  };
  auto has_children = [&](const Frame& frame) {
    return (frame.next_ofs < m_ofs_children.size() && m_ofs_children[frame.next_ofs].first == frame.index) ||
           (frame.next_ref < m_ref_children.size() && m_ref_children[frame.next_ref].first == frame.id);
  };
  Bytes pack(m_buffer.get(), m_size);
  std::vector<Frame> stack;
  std::size_t held_bytes = 0;
  auto let_go = [&](Frame& frame) {
    held_bytes -= frame.content.data.size();
    frame.content = {};
    frame.held = false;
  };
  // Keeps the top's content (it is in use) and lets the lowest others go.
  auto keep_to_budget = [&] {
    for (std::size_t i = 0; i + 1 < stack.size() && held_bytes > m_limits.resolve_budget; ++i)
      if (stack[i].held) let_go(stack[i]);
  };
  // stack[position]'s content again, from the nearest frame below that holds its content or
  // else from the walk's root (which leaves the stack once its last child is resolved, so it
  // need not be stack[0]), through the deltas in between.
  auto rebuild = [&](std::size_t position) -> Result<Object> {
    std::size_t from = position;
    while (from > 0 && !stack[from].held) --from;
    bool from_frame = stack[from].held;
    Object base;
    if (from_frame) {
      base = stack[from].content;
    } else if (root == PackEntry::no_base) {
      base = TRY(m_thin_bases->read(root_id));
    } else {
      auto whole = TRY(inflate_entry(*m_inflater, pack, m_entries[root]));
      base = whole.object(m_entries[root].type);
    }
    auto stop = from_frame ? stack[from].index : root;
    std::vector<std::uint32_t> chain;
    for (auto at = stack[position].index; at != stop; at = m_entries[at].base) {
      if (at == PackEntry::no_base || chain.size() > m_limits.max_delta_depth)
        return fail(Errc::malformed, "git: a resolved delta's bases do not lead back to its ancestor");
      chain.push_back(at);
    }
    for (auto at = chain.rbegin(); at != chain.rend(); ++at) {
      auto delta = TRY(inflate_entry(*m_inflater, pack, m_entries[*at]));
      auto result = TRY(apply_delta(base.data, delta.bytes(), m_limits.max_object_size));
      base = result.object(m_entries[*at].type);
    }
    return base;
  };
  held_bytes = content.data.size();
  stack.push_back({std::move(content), true, root_id, root, 0, first_ofs(root), first_ref(root_id)});
  while (!stack.empty()) {
    auto& top = stack.back();
    if (!has_children(top)) {
      if (top.held) let_go(top);
      stack.pop_back();
      continue;
    }
    bool by_offset = top.next_ofs < m_ofs_children.size() && m_ofs_children[top.next_ofs].first == top.index;
    auto child = by_offset ? m_ofs_children[top.next_ofs++].second : m_ref_children[top.next_ref++].second;
    // A REF_DELTA whose base id appears twice in the pack is met twice.
    if (m_resolved[child]) continue;
    if (top.depth + 1 > m_limits.max_delta_depth) return fail(Errc::limit_reached, "git: delta chain too deep");
    if (!top.held) {
      top.content = TRY(rebuild(stack.size() - 1));
      top.held = true;
      held_bytes += top.content.data.size();
    }
    auto& entry = m_entries[child];
    auto delta = TRY(inflate_entry(*m_inflater, pack, entry));
    auto result = TRY(apply_delta(top.content.data, delta.bytes(), m_limits.max_object_size));
    entry.type = top.content.type;
    entry.id = object_id(entry.type, result.bytes());
    entry.depth = top.depth + 1;
    entry.base = top.index;
    m_resolved[child] = true;
    Frame next{result.object(entry.type), true, entry.id, child, entry.depth, first_ofs(child), first_ref(entry.id)};
    // A base whose last child this was is let go before descending, so a
    // long chain holds two objects at a time, not the whole chain.
    if (!has_children(top)) {
      if (top.held) let_go(top);
      stack.pop_back();
    }
    if (has_children(next)) {
      held_bytes += next.content.data.size();
      stack.push_back(std::move(next));
      keep_to_budget();
    }
  }
  return {};
}

} // namespace morgana::git
