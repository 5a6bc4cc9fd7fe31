// PackIndexer and ObjectStore on packs git wrote (fixtures.h): OFS_DELTA and
// REF_DELTA packs, a thin pack, fed whole and byte by byte; corruption and
// limits.

#include <gtest/gtest.h>
#include <map>
#include <string>

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
