// PackIndexer and ObjectStore on packs git wrote (fixtures.h): OFS_DELTA and
// REF_DELTA packs, a thin pack, fed whole and byte by byte; corruption and
// limits. Packs written here by hand for a shape of delta tree git's fixtures
// may not have (bases let go while deltas are resolved).

#include <gtest/gtest.h>
#include <map>
#include <string>
#include <vector>

#include "morgana/git/object_store.h"
#include "morgana/git/pack_indexer.h"
#include "morgana/git/tree.h"

#include "fixtures.h"

namespace morgana::git {
namespace {

struct Expected {
  ObjectType type;
  std::size_t size;
};

ObjectId id(std::string_view hex) { return MUST(ObjectId::parse_hex(hex)); }

std::map<ObjectId, Expected> listing() {
  std::map<ObjectId, Expected> objects;
  std::string_view text = fixtures::all_objects;
  while (!text.empty()) {
    auto line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    auto first = line.find(' ');
    auto second = line.find(' ', first + 1);
    auto type = *parse_type_name(line.substr(first + 1, second - first - 1));
    objects[id(line.substr(0, first))] = {type, std::stoul(std::string(line.substr(second + 1)))};
  }
  return objects;
}

Result<Pack> index(Bytes pack, std::size_t piece = 0, PackLimits limits = {}, ObjectSource* thin = nullptr) {
  PackIndexer indexer(limits, thin);
  if (piece == 0) piece = pack.size();
  for (std::size_t at = 0; at < pack.size(); at += piece)
    TRY(indexer.feed(pack.subspan(at, std::min(piece, pack.size() - at))));
  return indexer.finish();
}

void expect_matches_git(Pack& pack) {
  auto objects = listing();
  for (std::size_t i = 0; i < pack.entries().size(); ++i) {
    const auto& entry = pack.entries()[i];
    auto expected = objects.find(entry.id);
    ASSERT_NE(expected, objects.end()) << entry.id.to_hex();
    EXPECT_EQ(entry.type, expected->second.type);
    auto object = MUST(pack.read(entry.id));
    EXPECT_EQ(object.type, expected->second.type);
    EXPECT_EQ(object.data.size(), expected->second.size);
    EXPECT_TRUE(verify(entry.id, object.type, object.data));
  }
}

TEST(GitPack, IndexesAnOfsDeltaPack) {
  auto pack = MUST(index(fixtures::pack_ofs));
  EXPECT_EQ(pack.entries().size(), 21u); // every object but the hand-made signed commit
  int deltas = 0;
  for (const auto& entry : pack.entries()) deltas += entry.kind == PackEntryKind::ofs_delta;
  EXPECT_GT(deltas, 0);
  expect_matches_git(pack);
  auto readme = MUST(pack.read(id(fixtures::readme_id)));
  EXPECT_EQ(std::string(as_string(readme.data)), std::string(as_string(fixtures::readme)));
  auto tree = MUST(pack.read(id(fixtures::root_tree_id)));
  EXPECT_EQ(MUST(Tree::parse(tree.data)).entries.size(), 5u);
}

TEST(GitPack, IndexesARefDeltaPack) {
  auto pack = MUST(index(fixtures::pack_ref));
  int deltas = 0;
  for (const auto& entry : pack.entries()) deltas += entry.kind == PackEntryKind::ref_delta;
  EXPECT_GT(deltas, 0);
  expect_matches_git(pack);
}

TEST(GitPack, FedByteByByte) {
  auto whole = MUST(index(fixtures::pack_ofs));
  auto pieces = MUST(index(fixtures::pack_ofs, 1));
  ASSERT_EQ(pieces.entries().size(), whole.entries().size());
  for (std::size_t i = 0; i < whole.entries().size(); ++i) {
    EXPECT_EQ(pieces.entries()[i].id, whole.entries()[i].id);
    EXPECT_EQ(pieces.entries()[i].offset, whole.entries()[i].offset);
  }
  EXPECT_EQ(pieces.checksum(), whole.checksum());
  EXPECT_TRUE(MUST(index(fixtures::pack_ref, 7)).contains(id(fixtures::readme_id)));
}

TEST(GitPack, EveryFlippedByteIsCaught) {
  for (std::size_t i = 0; i < fixtures::pack_ofs.size(); ++i) {
    auto damaged = fixtures::pack_ofs;
    damaged[i] ^= std::byte{0x40};
    EXPECT_FALSE(index(damaged)) << "byte " << i;
  }
}

TEST(GitPack, TruncatedAndExtraBytes) {
  Bytes pack(fixtures::pack_ofs);
  EXPECT_EQ(index(pack.first(pack.size() - 1)).error(), Errc::truncated);
  EXPECT_EQ(index(pack.first(5)).error(), Errc::truncated);
  auto longer = fixtures::pack_ofs;
  longer.push_back(std::byte{0});
  EXPECT_EQ(index(longer).error(), Errc::malformed);
}

TEST(GitPack, RefusesBadHeaders) {
  auto damaged = fixtures::pack_ofs;
  damaged[7] = std::byte{4}; // version 4
  EXPECT_EQ(index(damaged).error(), Errc::unsupported);
  damaged = fixtures::pack_ofs;
  damaged[0] = std::byte{'p'};
  EXPECT_EQ(index(damaged).error(), Errc::malformed);
}

TEST(GitPack, Limits) {
  PackLimits small;
  small.max_pack_size = 100;
  EXPECT_EQ(index(fixtures::pack_ofs, 0, small).error(), Errc::limit_reached);
  small = {};
  small.max_object_size = 1000; // README is over 3 KB
  EXPECT_EQ(index(fixtures::pack_ofs, 0, small).error(), Errc::limit_reached);
  small = {};
  small.max_objects = 3;
  EXPECT_EQ(index(fixtures::pack_ofs, 0, small).error(), Errc::limit_reached);
  small = {};
  small.max_delta_depth = 0;
  EXPECT_EQ(index(fixtures::pack_ofs, 0, small).error(), Errc::limit_reached);
}

TEST(GitPack, AnErrorIsFinal) {
  PackIndexer indexer;
  EXPECT_FALSE(indexer.feed(as_bytes(std::string_view("PACX\0\0\0\2\0\0\0\0", 12))));
  EXPECT_FALSE(indexer.feed(fixtures::pack_ofs));
  EXPECT_FALSE(indexer.finish());
}

TEST(GitPack, NothingAfterFinish) {
  PackIndexer indexer;
  ASSERT_TRUE(indexer.feed(fixtures::pack_ofs));
  ASSERT_TRUE(indexer.finish());
  EXPECT_EQ(indexer.feed(fixtures::pack_ofs).error(), Errc::invalid_argument);
  EXPECT_EQ(indexer.finish().error(), Errc::invalid_argument);
}

TEST(GitPack, ThinPackNeedsItsBases) {
  PackIndexer indexer;
  ASSERT_TRUE(indexer.feed(fixtures::pack_thin));
  auto pack = indexer.finish();
  ASSERT_FALSE(pack);
  EXPECT_EQ(pack.error(), Errc::not_found);
  ASSERT_TRUE(indexer.missing_base());
  EXPECT_TRUE(MUST(index(fixtures::pack_base)).contains(*indexer.missing_base()));
}

// --- packs written by hand: entries as zlib "stored" blocks, deltas as one copy and one insert ---

std::string be32(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

std::string zlib_stored(std::string_view data) {
  std::string out = "\x78\x01\x01";
  auto size = static_cast<std::uint16_t>(data.size());
  for (std::uint16_t half : {size, static_cast<std::uint16_t>(~size)}) {
    out += static_cast<char>(half & 0xff);
    out += static_cast<char>(half >> 8);
  }
  out += data;
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : data) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return out + be32((b << 16) | a);
}

std::string entry_header(PackEntryKind kind, std::size_t size) {
  std::string out;
  unsigned byte = (static_cast<unsigned>(kind) << 4) | (size & 15);
  for (size >>= 4; size != 0; size >>= 7) {
    out += static_cast<char>(byte | 0x80);
    byte = size & 0x7f;
  }
  return out + static_cast<char>(byte);
}

std::string delta_varint(std::size_t value) {
  std::string out;
  for (; value >= 0x80; value >>= 7) out += static_cast<char>((value & 0x7f) | 0x80);
  return out + static_cast<char>(value);
}

// `result` as a delta on `base`: a copy of their common prefix (under 64 KiB), then the rest inserted.
std::string make_delta(std::string_view base, std::string_view result) {
  std::size_t common = 0;
  while (common < base.size() && common < result.size() && base[common] == result[common]) ++common;
  std::string out = delta_varint(base.size()) + delta_varint(result.size());
  if (common > 0) {
    out += static_cast<char>(0x80 | 0x10 | 0x20); // copy from offset 0, two size bytes
    out += static_cast<char>(common & 0xff);
    out += static_cast<char>(common >> 8);
  }
  for (auto rest = result.substr(common); !rest.empty(); rest.remove_prefix(std::min<std::size_t>(rest.size(), 127))) {
    auto piece = rest.substr(0, 127);
    out += static_cast<char>(piece.size());
    out += piece;
  }
  return out;
}

struct HandEntry {
  std::string content;      // the blob it resolves to
  int base = -1;            // index of its base in the same pack (OFS_DELTA), or -1
  std::string base_content; // a REF_DELTA's base held outside the pack, when base is -1 and this is set
};

std::string make_pack(const std::vector<HandEntry>& entries) {
  std::string pack = "PACK" + be32(2) + be32(static_cast<std::uint32_t>(entries.size()));
  std::vector<std::size_t> offsets;
  for (const auto& entry : entries) {
    offsets.push_back(pack.size());
    if (entry.base >= 0) {
      auto delta = make_delta(entries[entry.base].content, entry.content);
      auto distance = offsets.back() - offsets[entry.base];
      std::string encoded(1, static_cast<char>(distance & 0x7f));
      while (distance >>= 7) encoded.insert(encoded.begin(), static_cast<char>(0x80 | (--distance & 0x7f)));
      pack += entry_header(PackEntryKind::ofs_delta, delta.size()) + encoded + zlib_stored(delta);
    } else if (!entry.base_content.empty()) {
      auto delta = make_delta(entry.base_content, entry.content);
      auto base_id = object_id(ObjectType::blob, as_bytes(entry.base_content));
      pack += entry_header(PackEntryKind::ref_delta, delta.size()) +
              std::string(reinterpret_cast<const char*>(base_id.bytes().data()), ObjectId::size) + zlib_stored(delta);
    } else {
      pack += entry_header(PackEntryKind::blob, entry.content.size()) + zlib_stored(entry.content);
    }
  }
  br_sha1_context context;
  br_sha1_init(&context);
  br_sha1_update(&context, pack.data(), pack.size());
  char digest[ObjectId::size];
  br_sha1_out(&context, digest);
  return pack + std::string(digest, ObjectId::size);
}

// Versions of a file, each its base's content plus a line, so that a delta applied to the
// wrong base gives the wrong content.
std::string version(std::string_view base, std::string_view name) {
  return std::string(base) + std::string(name) + "\n";
}

void expect_blobs(Pack& pack, const std::vector<HandEntry>& entries) {
  for (const auto& entry : entries) {
    auto id = object_id(ObjectType::blob, as_bytes(entry.content));
    auto object = pack.read(id);
    ASSERT_TRUE(object) << entry.content.substr(3001);
    EXPECT_EQ(std::string(as_string(object->data)), entry.content);
  }
}

// With no budget every base but the one in use is let go as soon as a child is pushed, so
// each later child's base is rebuilt: from the whole object, or through other deltas.
TEST(GitPack, BasesLetGoWhileResolvingAreRebuilt) {
  //   a ── b ── d ── f        h ── i ── j ── k   (h, whose only child is i, leaves the
  //   │    └─── e                     └─── l         stack before i's children are done)
  //   └─── c ── g
  auto a = std::string(3000, 'x') + "\n", b = version(a, "b"), c = version(a, "c"), d = version(b, "d");
  auto h = std::string(3000, 'y') + "\n", i = version(h, "i"), j = version(i, "j");
  std::vector<HandEntry> entries = {{a},
                                    {b, 0},
                                    {c, 0},
                                    {d, 1},
                                    {version(b, "e"), 1},
                                    {version(d, "f"), 3},
                                    {version(c, "g"), 2},
                                    {h},
                                    {i, 7},
                                    {j, 8},
                                    {version(j, "k"), 9},
                                    {version(i, "l"), 8}};
  auto bytes = make_pack(entries);
  for (std::size_t budget : {std::size_t{0}, std::size_t{4000}, PackLimits{}.resolve_budget}) {
    PackLimits limits;
    limits.resolve_budget = budget;
    auto pack = index(as_bytes(bytes), 0, limits);
    ASSERT_TRUE(pack) << budget << ": " << pack.error().context;
    expect_blobs(*pack, entries);
    EXPECT_EQ(pack->entries()[5].depth, 3u);
  }
}

TEST(GitObjectStore, ThinBasesLetGoWhileResolvingAreReadAgain) {
  auto base = std::string(3000, 'x') + "\n", b = version(base, "b"), d = version(b, "d");
  std::vector<HandEntry> held = {{base}};
  std::vector<HandEntry> thin = {
      {b, -1, base}, {version(base, "c"), -1, base}, {d, 0}, {version(b, "e"), 0}, {version(d, "f"), 2}};
  ObjectStore store;
  ASSERT_TRUE(store.add(MUST(index(as_bytes(make_pack(held))))));
  PackLimits limits;
  limits.resolve_budget = 0;
  auto pack = index(as_bytes(make_pack(thin)), 0, limits, &store);
  ASSERT_TRUE(pack) << pack.error().context;
  ASSERT_TRUE(store.add(std::move(*pack)));
  for (const auto& entry : thin) {
    auto object = store.read(object_id(ObjectType::blob, as_bytes(entry.content)));
    ASSERT_TRUE(object) << entry.content.substr(3001);
    EXPECT_EQ(std::string(as_string(object->data)), entry.content);
  }
}

TEST(GitObjectStore, ThinPackResolvesAgainstEarlierPacks) {
  ObjectStore store;
  ASSERT_TRUE(store.add(MUST(index(fixtures::pack_base))));
  auto head = id(fixtures::head_commit_id);
  EXPECT_FALSE(store.contains(head));
  EXPECT_EQ(store.read(head).error(), Errc::not_found);
  ASSERT_TRUE(store.add(MUST(index(fixtures::pack_thin, 0, {}, &store))));
  EXPECT_EQ(store.pack_count(), 2u);
  EXPECT_TRUE(store.contains(head));
  auto readme = MUST(store.read(id(fixtures::readme_id)));
  EXPECT_EQ(readme.type, ObjectType::blob);
  EXPECT_EQ(std::string(as_string(readme.data)), std::string(as_string(fixtures::readme)));
  // Every object of the full pack but the tag is now in the store.
  auto full = MUST(index(fixtures::pack_ofs));
  for (const auto& entry : full.entries()) {
    if (entry.type == ObjectType::tag) continue;
    auto object = MUST(store.read(entry.id));
    EXPECT_TRUE(verify(entry.id, object.type, object.data)) << entry.id.to_hex();
  }
  EXPECT_GT(store.memory_bytes(), 0u);
}

TEST(GitObjectStore, ObjectsOutliveTheCacheAndThePack) {
  Object readme;
  {
    ObjectStore store;
    PackLimits tiny;
    tiny.cache_budget = 64;
    ASSERT_TRUE(store.add(MUST(index(fixtures::pack_ofs, 0, tiny))));
    readme = MUST(store.read(id(fixtures::readme_id)));
    for (const auto& line : {fixtures::head_commit_id, fixtures::root_tree_id, fixtures::tag_v1_id})
      EXPECT_TRUE(store.read(id(line)));
  }
  EXPECT_EQ(readme.data.size(), fixtures::readme.size());
  EXPECT_TRUE(verify(id(fixtures::readme_id), readme.type, readme.data));
}

} // namespace
} // namespace morgana::git
