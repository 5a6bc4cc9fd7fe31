// Indexes a real repository's pack (tests/system/git_pack_test.py makes one
// with git and runs this test) and checks every object against git's own
// listing: MORGANA_GIT_CORPUS names the .pack, MORGANA_GIT_CORPUS_OBJECTS a
// file of `git cat-file --batch-all-objects --batch-check` lines. Skipped
// when MORGANA_GIT_CORPUS is unset.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "morgana/git/commit.h"
#include "morgana/git/pack_indexer.h"
#include "morgana/git/tag.h"
#include "morgana/git/tree.h"

namespace morgana::git {
namespace {

std::string read_file(const char* path) {
  std::string text;
  std::FILE* file = std::fopen(path, "rb");
  if (!file) return text;
  char buffer[65536];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  std::fclose(file);
  return text;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(GitCorpus, IndexesARealRepositorysPack) {
  const char* pack_path = std::getenv("MORGANA_GIT_CORPUS");
  const char* listing_path = std::getenv("MORGANA_GIT_CORPUS_OBJECTS");
  if (!pack_path) GTEST_SKIP() << "MORGANA_GIT_CORPUS is unset (tests/system/git_pack_test.py sets it)";
  ASSERT_NE(listing_path, nullptr) << "MORGANA_GIT_CORPUS_OBJECTS is unset";
  auto bytes = read_file(pack_path);
  auto listing = read_file(listing_path);
  ASSERT_FALSE(bytes.empty()) << pack_path;
  ASSERT_FALSE(listing.empty()) << listing_path;

  long rss_before = peak_rss_kib();
  auto started = std::chrono::steady_clock::now();
  PackIndexer indexer;
  Bytes input = as_bytes(bytes);
  for (std::size_t at = 0; at < input.size(); at += 65536)
    ASSERT_TRUE(indexer.feed(input.subspan(at, std::min<std::size_t>(65536, input.size() - at))));
  auto pack = indexer.finish();
  ASSERT_TRUE(pack) << pack.error().context;
  auto indexed = std::chrono::steady_clock::now();
  std::uint32_t max_depth = 0;
  for (const auto& entry : pack->entries()) max_depth = std::max(max_depth, entry.depth);
  std::printf("corpus: indexed %zu objects, %zu bytes, deepest delta chain %u, in %.3f s; peak RSS %ld KiB "
              "(%ld KiB before; the pack file itself is held twice here)\n",
              pack->entries().size(), input.size(), max_depth, std::chrono::duration<double>(indexed - started).count(),
              peak_rss_kib(), rss_before);

  std::size_t checked = 0, parsed = 0;
  std::string_view text = listing;
  while (!text.empty()) {
    auto line = text.substr(0, text.find('\n'));
    text.remove_prefix(std::min(text.size(), line.size() + 1));
    auto first = line.find(' ');
    auto second = line.find(' ', first + 1);
    ASSERT_NE(second, std::string_view::npos) << line;
    auto id = MUST(ObjectId::parse_hex(line.substr(0, first)));
    auto type = parse_type_name(line.substr(first + 1, second - first - 1));
    ASSERT_TRUE(type) << line;
    auto size = std::stoull(std::string(line.substr(second + 1)));
    auto index = pack->find(id);
    ASSERT_TRUE(index) << "missing " << line;
    EXPECT_EQ(pack->entries()[*index].type, *type) << line;
    auto object = pack->read_entry(*index);
    ASSERT_TRUE(object) << line << ": " << object.error().context;
    EXPECT_EQ(object->type, *type) << line;
    EXPECT_EQ(object->data.size(), size) << line;
    EXPECT_TRUE(verify(id, object->type, object->data)) << line;
    switch (*type) {
    case ObjectType::commit: EXPECT_TRUE(Commit::parse(object->data)) << line; break;
    case ObjectType::tree: EXPECT_TRUE(Tree::parse(object->data)) << line; break;
    case ObjectType::tag: EXPECT_TRUE(Tag::parse(object->data)) << line; break;
    case ObjectType::blob: break;
    }
    parsed += *type != ObjectType::blob;
    ++checked;
  }
  EXPECT_EQ(checked, pack->entries().size());
  auto done = std::chrono::steady_clock::now();
  std::printf("corpus: read back %zu objects (%zu commits, trees and tags parsed) in %.3f s; cache %zu KiB; "
              "peak RSS %ld KiB\n",
              checked, parsed, std::chrono::duration<double>(done - indexed).count(), pack->cache().bytes() / 1024,
              peak_rss_kib());
}

} // namespace
} // namespace morgana::git
