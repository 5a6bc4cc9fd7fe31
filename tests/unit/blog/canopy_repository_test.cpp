// The blog's pieces together on a small Canopy repository held in a store:
// configuration, the layout's roles, articles, a redirect, a skipped file, and
// the feed of the articles with Canopy's ids.

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "memory_store.h"
#include "morgana/blog/article.h"
#include "morgana/blog/atom.h"
#include "morgana/blog/config.h"

namespace morgana::blog {
namespace {

// Every file path below `prefix`, depth first, in the store's order.
void walk(const kv::Store& store, const std::string& prefix, std::vector<std::string>& paths) {
  for (const auto& entry : *store.list(prefix)) {
    auto path = prefix.empty() ? entry.name : prefix + "/" + entry.name;
    if (entry.is_directory) {
      walk(store, path, paths);
    } else {
      paths.push_back(path);
    }
  }
}

TEST(BlogCanopyRepository, ReadsArticlesRedirectsAndTheFeed) {
  test::MemoryStore store{
      {".config/blog_name", "full stack engineer\n"},
      {".config/index_page", "Posts\n"},
      {".config/uuid", "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e\n"},
      {".config/root", "https://blog.example.org/\n"},
      {"Posts/Hello", "---\ntitle: Hello\nauthor: Ada\ntags: mirage, ocaml\nabstract: First.\n---\n# Hi\n"},
      {"Posts/Second", "---\ntitle: Second\nauthor: Bob\n---\nMore.\n"},
      {"Old", "redirect: /Posts/Hello\n"},
      {"notes.txt", "just some notes\n"},
      {"static/css/style.css", "body {}\n"},
  };
  auto config = read_config(store);
  ASSERT_TRUE(config);

  std::vector<std::string> paths;
  walk(store, "", paths);
  std::map<std::string, Article> articles;
  std::map<std::string, std::string> redirects;
  std::map<std::string, std::string_view> skipped;
  int static_files = 0;
  for (const auto& path : paths) {
    switch (role_of(path)) {
    case PathRole::config: continue;
    case PathRole::static_file: ++static_files; continue;
    case PathRole::content: break;
    }
    auto content = parse_content(as_string(store.get(path)->data));
    if (!content) {
      skipped[path] = content.error().context;
    } else if (auto* article = std::get_if<Article>(&*content)) {
      articles[path] = std::move(*article);
    } else {
      redirects[path] = std::get<Redirect>(*content).target;
    }
  }
  EXPECT_EQ(static_files, 1);
  ASSERT_EQ(articles.size(), 2u);
  EXPECT_EQ(articles["Posts/Hello"].tags, (std::vector<std::string>{"mirage", "ocaml"}));
  EXPECT_EQ(redirects, (std::map<std::string, std::string>{{"Old", "/Posts/Hello"}}));
  EXPECT_EQ(skipped, (std::map<std::string, std::string_view>{
                         {"notes.txt", "no header (a first line '---') and no 'redirect:' line"}}));

  // Second was created a day after Hello: it comes first.
  const auto& hello = articles["Posts/Hello"];
  const auto& second = articles["Posts/Second"];
  WallClock::time_point day_one{std::chrono::seconds(1456827630)};
  auto day_two = day_one + std::chrono::hours(24);
  std::vector<FeedEntry> entries{
      {.path = "Posts/Second",
       .title = second.title,
       .author = second.author,
       .content_html = "<p>More.</p>",
       .tags = second.tags,
       .published = day_two,
       .updated = day_two},
      {.path = "Posts/Hello",
       .title = hello.title,
       .author = hello.author,
       .summary = hello.abstract,
       .content_html = "<h1>Hi</h1>",
       .tags = hello.tags,
       .published = day_one,
       .updated = day_two},
  };
  auto xml = write_atom(
      {.uuid = config->uuid, .title = config->blog_name, .root = config->root, .updated = day_two, .entries = entries});
  EXPECT_NE(xml.find("<title>full stack engineer</title>"), std::string::npos);
  EXPECT_NE(xml.find("href=\"https://blog.example.org/atom\""), std::string::npos);
  auto second_at = xml.find("<title>Second</title>");
  auto hello_at = xml.find("<title>Hello</title>");
  ASSERT_NE(second_at, std::string::npos);
  ASSERT_NE(hello_at, std::string::npos);
  EXPECT_LT(second_at, hello_at);
  // Python: uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, "2016-03-01T10:20:30-00:00"), "f9a4a3e2-...")
  EXPECT_NE(xml.find("<id>urn:uuid:1b6ac8dd-ca96-5284-a6d3-8d2595bbba8b</id>"), std::string::npos);
  EXPECT_NE(xml.find("<category term=\"ocaml\" scheme=\"https://blog.example.org/tags/ocaml\"/>"), std::string::npos);
  EXPECT_NE(xml.find("href=\"https://blog.example.org/Posts/Hello\""), std::string::npos);
}

} // namespace
} // namespace morgana::blog
