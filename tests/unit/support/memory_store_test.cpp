#include "memory_store.h"

#include <gtest/gtest.h>

namespace morgana::test {
namespace {

TEST(MemoryStore, GetsAndListsLikeATree) {
  MemoryStore store{{"a.md", "A"}, {"Posts/one", "1"}, {"Posts/two", "2"}, {"Posts/sub/three", "3"}};
  EXPECT_EQ(as_string(store.get("Posts/one")->data), "1");
  EXPECT_EQ(store.get("Posts").error(), Errc::not_found);
  EXPECT_EQ(store.metadata("a.md")->size, 1u);

  auto root = store.list("");
  ASSERT_TRUE(root);
  ASSERT_EQ(root->size(), 2u);
  EXPECT_EQ((*root)[0].name, "Posts");
  EXPECT_TRUE((*root)[0].is_directory);
  EXPECT_EQ((*root)[1].name, "a.md");
  EXPECT_FALSE((*root)[1].is_directory);

  auto posts = store.list("Posts");
  ASSERT_TRUE(posts);
  ASSERT_EQ(posts->size(), 3u);
  EXPECT_EQ((*posts)[0].name, "one");
  EXPECT_EQ((*posts)[1].name, "sub");
  EXPECT_TRUE((*posts)[1].is_directory);
  EXPECT_EQ((*posts)[2].name, "two");
  EXPECT_EQ(store.list("Post").error(), Errc::not_found);

  MemoryStore tricky{{"b.txt", ""}, {"b/x", ""}};
  auto names = tricky.list("");
  ASSERT_TRUE(names);
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[0].name, "b");
  EXPECT_EQ((*names)[1].name, "b.txt");
}

} // namespace
} // namespace morgana::test
