#include "morgana/kv/crunch_store.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "morgana/core/format.h"

namespace morgana::kv {
namespace {

const std::byte* bytes_of(std::string_view text) { return reinterpret_cast<const std::byte*>(text.data()); }

constexpr std::string_view index_html = "<h1>hello</h1>";
constexpr std::string_view site_css = "body { color: black }";
constexpr std::string_view site_css_gzip = "\x1f\x8b pretend gzip";
constexpr std::string_view notes_md = "# notes";
constexpr std::string_view digest_a = "aaaa";
constexpr std::string_view digest_b = "bbbb";

// Keys in byte order: "a-b.txt" sorts before "a/..." ('-' < '/'), though
// directory "a" lists before file "a-b.txt".
const std::array<CrunchEntry, 7> site_entries{{
    {"a-b.txt", bytes_of(notes_md), notes_md.size(), nullptr, 0, digest_b, "text/plain; charset=utf-8", 10},
    {"a/deep/x.md", bytes_of(notes_md), notes_md.size(), nullptr, 0, digest_b, "text/markdown; charset=utf-8", 11},
    {"a/y.md", bytes_of(notes_md), notes_md.size(), nullptr, 0, digest_b, "text/markdown; charset=utf-8", 12},
    {"css/site.css", bytes_of(site_css), site_css.size(), bytes_of(site_css_gzip), site_css_gzip.size(), digest_a,
     "text/css; charset=utf-8", 1'700'000'000},
    {"empty", nullptr, 0, nullptr, 0, "e3b0", "application/octet-stream", 0},
    {"index.html", bytes_of(index_html), index_html.size(), nullptr, 0, digest_a, "text/html; charset=utf-8", 13},
    {"z dir/with space.txt", bytes_of(notes_md), notes_md.size(), nullptr, 0, digest_b, "text/plain; charset=utf-8",
     14},
}};
const CrunchTable site_table{"crunch-test-site", site_entries};
const CrunchStore site_store{site_table};

const CrunchTable empty_table{"crunch-test-empty", {}};
const CrunchStore empty_store{empty_table};

const std::array<const CrunchStore*, 2> registry{&site_store, &empty_store};

struct Listed {
  std::string name;
  bool is_directory;
  bool operator==(const Listed&) const = default;
};

std::vector<Listed> listing(const Store& store, Key prefix) {
  auto entries = store.list(prefix);
  EXPECT_TRUE(entries.has_value()) << prefix;
  std::vector<Listed> result;
  if (entries) {
    for (const auto& entry : *entries) result.push_back({entry.name, entry.is_directory});
  }
  return result;
}

TEST(CrunchStore, GetPointsIntoTheTableWithoutOwner) {
  auto value = site_store.get("css/site.css");
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(as_string(value->data), site_css);
  EXPECT_EQ(value->data.data(), bytes_of(site_css));
  EXPECT_EQ(value->owner, nullptr);

  auto nested = site_store.get("a/deep/x.md");
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(as_string(nested->data), notes_md);
  ASSERT_TRUE(site_store.get("z dir/with space.txt").has_value());
}

TEST(CrunchStore, EmptyFileIsAnEmptyValue) {
  auto value = site_store.get("empty");
  ASSERT_TRUE(value.has_value());
  EXPECT_TRUE(value->data.empty());
}

TEST(CrunchStore, AbsentKeysAndDirectoriesAreNotFound) {
  for (auto key : {"", "missing", "a", "a/", "a/deep", "css", "/index.html", "index.htm", "index.html/", "zzz"}) {
    auto value = site_store.get(key);
    ASSERT_FALSE(value.has_value()) << key;
    EXPECT_EQ(value.error(), Errc::not_found) << key;
    EXPECT_FALSE(site_store.metadata(key).has_value()) << key;
    EXPECT_FALSE(site_store.get_encoded(key, Encoding::gzip).has_value()) << key;
  }
}

TEST(CrunchStore, MetadataComesFromTheTable) {
  auto metadata = site_store.metadata("css/site.css");
  ASSERT_TRUE(metadata.has_value());
  EXPECT_EQ(metadata->size, site_css.size());
  EXPECT_EQ(metadata->digest, digest_a);
  EXPECT_EQ(metadata->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(metadata->last_modified.time_since_epoch(), std::chrono::seconds{1'700'000'000});
}

TEST(CrunchStore, GzipVariantWhenPresent) {
  auto gzip = site_store.get_encoded("css/site.css", Encoding::gzip);
  ASSERT_TRUE(gzip.has_value());
  EXPECT_EQ(as_string(gzip->data), site_css_gzip);
  EXPECT_EQ(gzip->owner, nullptr);

  auto identity = site_store.get_encoded("css/site.css", Encoding::identity);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(as_string(identity->data), site_css);

  auto none = site_store.get_encoded("index.html", Encoding::gzip);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error(), Errc::not_found);
  EXPECT_TRUE(site_store.get_encoded("index.html", Encoding::identity).has_value());
}

TEST(CrunchStore, ListsRootSortedByNameWithDirectories) {
  std::vector<Listed> expected{{"a", true},      {"a-b.txt", false},    {"css", true},
                               {"empty", false}, {"index.html", false}, {"z dir", true}};
  EXPECT_EQ(listing(site_store, ""), expected);
  EXPECT_EQ(listing(site_store, "/"), expected);
}

TEST(CrunchStore, ListsSubdirectories) {
  EXPECT_EQ(listing(site_store, "a"), (std::vector<Listed>{{"deep", true}, {"y.md", false}}));
  EXPECT_EQ(listing(site_store, "a/"), (std::vector<Listed>{{"deep", true}, {"y.md", false}}));
  EXPECT_EQ(listing(site_store, "a/deep"), (std::vector<Listed>{{"x.md", false}}));
  EXPECT_EQ(listing(site_store, "css"), (std::vector<Listed>{{"site.css", false}}));
  EXPECT_EQ(listing(site_store, "z dir"), (std::vector<Listed>{{"with space.txt", false}}));
}

TEST(CrunchStore, ListingFilesOrAbsentDirectoriesIsNotFound) {
  for (auto prefix : {"index.html", "a-b.txt", "missing", "a/deep/x.md", "a/de", "c", "zzz"}) {
    auto entries = site_store.list(prefix);
    ASSERT_FALSE(entries.has_value()) << prefix;
    EXPECT_EQ(entries.error(), Errc::not_found) << prefix;
  }
}

TEST(CrunchStore, EmptyStoreHasAnEmptyRoot) {
  auto root = empty_store.list("");
  ASSERT_TRUE(root.has_value());
  EXPECT_TRUE(root->empty());
  EXPECT_FALSE(empty_store.get("anything").has_value());
  EXPECT_FALSE(empty_store.list("dir").has_value());
}

TEST(CrunchStore, RegistryFindsStoresByName) {
  EXPECT_EQ(crunched("crunch-test-site"), &site_store);
  EXPECT_EQ(crunched("crunch-test-empty"), &empty_store);
  EXPECT_EQ(crunched("site"), nullptr);
  EXPECT_EQ(crunched(""), nullptr);

  StringBuilder<128> names;
  format_to(names, "{}", CrunchedNames{});
  EXPECT_EQ(names.view(), "crunch-test-site, crunch-test-empty");
}

} // namespace

// The unit tests' registry: the stores above (an application's is generated).
std::span<const CrunchStore* const> crunched_stores() { return registry; }

} // namespace morgana::kv
