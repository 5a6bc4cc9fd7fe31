#include "morgana/blog/config.h"

#include <gtest/gtest.h>

#include "memory_store.h"

namespace morgana::blog {
namespace {

TEST(BlogConfig, ReadsAndTrimsEveryFile) {
  test::MemoryStore store{{".config/blog_name", "  full stack engineer\n"},
                          {".config/index_page", "Posts\r\n"},
                          {".config/uuid", "\t1b6ac8dd-ca96-5284-a6d3-8d2595bbba8b\n\n"},
                          {".config/root", "https://blog.example.org\n"}};
  auto config = read_config(store);
  ASSERT_TRUE(config) << config.error().context;
  EXPECT_EQ(config->blog_name, "full stack engineer");
  EXPECT_EQ(config->index_page, "Posts");
  EXPECT_EQ(config->uuid, "1b6ac8dd-ca96-5284-a6d3-8d2595bbba8b");
  EXPECT_EQ(config->root, "https://blog.example.org");
}

TEST(BlogConfig, CanopysDefaults) {
  test::MemoryStore store{{".config/uuid", "my blog"}, {".config/blog_name", " \n"}};
  auto config = read_config(store);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->blog_name, "Canopy"); // empty counts as absent
  EXPECT_EQ(config->index_page, "Index");
  EXPECT_EQ(config->uuid, "my blog");
  EXPECT_EQ(config->root, "http://localhost");
}

TEST(BlogConfig, UuidIsRequired) {
  for (auto* uuid : {static_cast<const char*>(nullptr), "", " \n"}) {
    test::MemoryStore store{{".config/blog_name", "B"}};
    if (uuid) store.put(".config/uuid", uuid);
    auto config = read_config(store);
    ASSERT_FALSE(config);
    EXPECT_EQ(config.error().code, Errc::not_found);
    EXPECT_EQ(config.error().context, ".config/uuid is required (the Atom feed's id)");
  }
}

TEST(BlogConfig, SettingsOverrideTheRepository) {
  test::MemoryStore store{{".config/uuid", "u"}, {".config/blog_name", "Repo"}, {".config/index_page", "Posts"}};
  auto config = read_config(store, {.blog_name = "From settings", .index_page = "/Notes/"});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->blog_name, "From settings");
  EXPECT_EQ(config->index_page, "Notes");
  auto only_name = read_config(store, {.blog_name = "N"});
  ASSERT_TRUE(only_name);
  EXPECT_EQ(only_name->index_page, "Posts");
}

TEST(BlogConfig, RootLosesTrailingSlashes) {
  test::MemoryStore store{{".config/uuid", "u"}, {".config/root", "https://example.org/blog//\n"}};
  EXPECT_EQ(read_config(store)->root, "https://example.org/blog");
}

// A store that fails: its errors pass through instead of reading as defaults.
class FailingStore final : public kv::Store {
public:
  [[nodiscard]] Result<kv::Value> get(kv::Key) const override { return fail(Errc::io_error, "disk on fire"); }
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key) const override { return fail(Errc::io_error); }
  [[nodiscard]] Result<std::vector<kv::ListEntry>> list(kv::Key) const override { return fail(Errc::io_error); }
};

TEST(BlogConfig, PassesStoreErrorsOn) {
  auto config = read_config(FailingStore{});
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, Errc::io_error);
}

} // namespace
} // namespace morgana::blog
