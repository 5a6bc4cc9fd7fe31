// TreeStore over a commit made by hand: reads, metadata (size, digest = blob
// id, dates from a PathHistory), listings, how symlinks, submodules and
// executables are held, refusals, and values that outlive the store.

#include "morgana/git/tree_store.h"

#include <gtest/gtest.h>

#include <string>

#include "memory_repository.h"

namespace morgana::git {
namespace {

using test::File;
using test::Files;
using test::MemoryRepository;

std::string text(Bytes bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

WallClock::time_point at(std::int64_t seconds) { return WallClock::time_point{std::chrono::seconds{seconds}}; }

class GitTreeStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    first = made.commit(files, {}, 1000);
    ASSERT_TRUE(made.flush());
  }

  std::shared_ptr<const TreeStore> store_of(const ObjectId& commit, const PathHistory* history = nullptr,
                                            const TreeStore* previous = nullptr) {
    auto store = TreeStore::create(made.repository, commit, history, previous);
    EXPECT_TRUE(store) << store.error().message();
    return store ? *store : nullptr;
  }

  MemoryRepository made;
  Files files{
      {"README.md", {"# hello\n"}},
      {"empty", {""}},
      {"run.sh", {"#!/bin/sh\n", TreeMode::executable}},
      {"link", {"README.md", TreeMode::symlink}},
      {"vendor/lib", {"0123456789abcdef0123456789abcdef01234567", TreeMode::submodule}},
      {"a/b/c/deep.txt", {"deep\n"}},
      {"a/b.txt", {"b\n"}},
      {"a.txt", {"a\n"}},
  };
  ObjectId first;
};

TEST_F(GitTreeStoreTest, ReadsFilesAndTheirMetadata) {
  auto store = store_of(first);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->commit(), first);
  EXPECT_EQ(store->size(), files.size());
  auto value = store->get("a/b/c/deep.txt");
  ASSERT_TRUE(value);
  EXPECT_EQ(text(value->data), "deep\n");
  auto metadata = store->metadata("README.md");
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->size, 8u);
  EXPECT_EQ(metadata->digest, object_id(ObjectType::blob, as_bytes(std::string_view("# hello\n"))).to_hex());
  EXPECT_EQ(metadata->last_modified, WallClock::time_point{}); // no history given
  auto empty = store->metadata("empty");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size, 0u);
  ASSERT_TRUE(store->get("empty"));
  EXPECT_EQ(store->get("empty")->data.size(), 0u);
  EXPECT_EQ(text(store->get("run.sh")->data), "#!/bin/sh\n");
  EXPECT_EQ(store->entry("run.sh")->kind, TreeStore::Kind::executable);
  EXPECT_EQ(store->entry("README.md")->kind, TreeStore::Kind::file);
}

TEST_F(GitTreeStoreTest, DoesNotServeSymlinksOrSubmodulesButReportsThem) {
  auto store = store_of(first);
  ASSERT_NE(store, nullptr);
  for (const auto* key : {"link", "vendor/lib"}) {
    auto value = store->get(key);
    ASSERT_FALSE(value) << key;
    EXPECT_EQ(value.error(), Errc::not_found);
    EXPECT_FALSE(store->metadata(key));
  }
  EXPECT_EQ(store->get("link").error().context, "git: a symlink, not served");
  EXPECT_EQ(store->get("vendor/lib").error().context, "git: a submodule, not served");
  auto link = store->entry("link");
  ASSERT_TRUE(link);
  EXPECT_EQ(link->kind, TreeStore::Kind::symlink);
  EXPECT_EQ(link->id, object_id(ObjectType::blob, as_bytes(std::string_view("README.md"))));
  auto submodule = store->entry("vendor/lib");
  ASSERT_TRUE(submodule);
  EXPECT_EQ(submodule->kind, TreeStore::Kind::submodule);
  EXPECT_EQ(submodule->id.to_hex(), "0123456789abcdef0123456789abcdef01234567");
}

TEST_F(GitTreeStoreTest, RefusesWhatIsNotAFile) {
  auto store = store_of(first);
  ASSERT_NE(store, nullptr);
  for (const auto* key : {"", "a", "a/b", "a/", "/README.md", "missing", "README.md/x", "a/b/c/deep"}) {
    auto value = store->get(key);
    ASSERT_FALSE(value) << key;
    EXPECT_EQ(value.error(), Errc::not_found) << key;
    EXPECT_FALSE(store->metadata(key)) << key;
  }
  EXPECT_FALSE(store->entry("a"));
  EXPECT_FALSE(TreeStore::create(made.repository, made.add(ObjectType::blob, "not flushed"), nullptr));
}

TEST_F(GitTreeStoreTest, ListsDirectories) {
  auto store = store_of(first);
  ASSERT_NE(store, nullptr);
  auto root = store->list("");
  ASSERT_TRUE(root);
  std::vector<std::pair<std::string, bool>> names;
  for (const auto& entry : *root) names.emplace_back(entry.name, entry.is_directory);
  // Symlinks and submodules are listed, as entries that are not directories.
  EXPECT_EQ(names, (std::vector<std::pair<std::string, bool>>{{"README.md", false},
                                                              {"a", true},
                                                              {"a.txt", false},
                                                              {"empty", false},
                                                              {"link", false},
                                                              {"run.sh", false},
                                                              {"vendor", true}}));
  auto a = store->list("a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].name, "b");
  EXPECT_TRUE((*a)[0].is_directory);
  EXPECT_EQ((*a)[1].name, "b.txt");
  EXPECT_FALSE((*a)[1].is_directory);
  ASSERT_TRUE(store->list("a/b/c"));
  EXPECT_EQ(store->list("a/b/c")->size(), 1u);
  ASSERT_TRUE(store->list("a/"));
  EXPECT_EQ(store->list("a/")->size(), 2u);
  for (const auto* prefix : {"README.md", "missing", "a/b/c/deep.txt", "vendor/lib", "a/b/c/deep.txt/"}) {
    auto listed = store->list(prefix);
    ASSERT_FALSE(listed) << prefix;
    EXPECT_EQ(listed.error(), Errc::not_found);
  }
}

TEST_F(GitTreeStoreTest, AnEmptyTreeHasAnEmptyRoot) {
  auto commit = made.commit(Files{}, {}, 1000);
  ASSERT_TRUE(made.flush());
  auto store = store_of(commit);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->list(""));
  EXPECT_TRUE(store->list("")->empty());
  EXPECT_FALSE(store->get("anything"));
}

TEST_F(GitTreeStoreTest, ValuesOutliveTheStore) {
  auto store = store_of(first);
  ASSERT_NE(store, nullptr);
  auto value = store->get("README.md");
  ASSERT_TRUE(value);
  store.reset();
  EXPECT_EQ(text(value->data), "# hello\n");
  EXPECT_NE(value->owner, nullptr);
}

TEST_F(GitTreeStoreTest, CarriesDatesFromTheHistory) {
  auto changed = files;
  changed["README.md"].content = "# hello again\n";
  auto second = made.commit(changed, {first}, 2000, 1500);
  ASSERT_TRUE(made.flush());
  PathHistory history;
  ASSERT_TRUE(history.update(made.repository, second));
  auto old_store = store_of(first);
  ASSERT_NE(old_store, nullptr);
  ASSERT_TRUE(old_store->metadata("a.txt")); // its size is now known
  auto store = store_of(second, &history, old_store.get());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->shallow());
  auto readme = store->metadata("README.md");
  ASSERT_TRUE(readme);
  EXPECT_EQ(readme->last_modified, at(1500));
  EXPECT_EQ(readme->created, at(1000));
  EXPECT_EQ(readme->size, 14u);
  EXPECT_EQ(TreeStore::create(made.repository, first, &history).error(), Errc::invalid_argument);
  auto a = store->metadata("a.txt");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->last_modified, at(1000));
  EXPECT_EQ(a->created, at(1000));
  EXPECT_EQ(a->size, 2u);
}

} // namespace
} // namespace morgana::git
