// The blog rendered from a Canopy-like repository in a memory store with
// dates: the pages' keys, lists and order, the feed, escaping, skipped files,
// redirects, static files, gzip variants, incremental renders, and the
// handler's mapping of requests to keys.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gunzip.h"
#include "memory_store.h"
#include "morgana/blog/atom.h"
#include "morgana/blog/handler.h"
#include "morgana/blog/snapshot.h"
#include "morgana/http/request.h"
#include "morgana/http/response.h"
#include "sim.h"

namespace morgana::blog {
namespace {

using test_support::gunzip;

log::Source render_test_log{"blog-render-test"};

constexpr std::string_view uuid = "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e";

// Midnight UTC of day `day` of January 2024, plus `hours`.
WallClock::time_point january(int day, int hours = 0) {
  return WallClock::time_point{std::chrono::sys_days{std::chrono::year{2024} / 1 / day}.time_since_epoch() +
                               std::chrono::hours{hours}};
}

std::string article(std::string_view title, std::string_view tags = "", std::string_view body = "Body.") {
  std::string text = "---\ntitle: " + std::string(title) + "\nauthor: Ada\n";
  if (!tags.empty()) text += "tags: " + std::string(tags) + "\n";
  text += "abstract: About " + std::string(title) + ".\n---\n" + std::string(body) + "\n";
  return text;
}

// Posts/P01 … Posts/P12 created on January 1 … 12 (P07 updated on the 20th),
// even ones tagged "even", all tagged "all"; a note in another category, a
// root page, a redirect, a file that is no article, and static files.
test::MemoryStore canopy_repository() {
  test::MemoryStore store;
  auto put = [&](std::string path, std::string text, int created, int updated) {
    store.put(std::move(path), std::move(text), january(created), january(updated));
  };
  put(".config/blog_name", "Morgana's blog\n", 1, 1);
  put(".config/index_page", "Posts\n", 1, 1);
  put(".config/uuid", std::string(uuid) + "\n", 1, 1);
  put(".config/root", "https://blog.example.org/\n", 1, 1);
  for (int i = 1; i <= 12; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "P%02d", i);
    put("Posts/" + std::string(name),
        article(name, i % 2 == 0 ? "even, all" : "all", "# Post\n\nText of " + std::string(name) + "."), i,
        i == 7 ? 20 : i);
  }
  put("Other/Note", article("A <note> & \"quotes\" 'too'", "c&c"), 13, 13);
  put("About", article("About me"), 1, 2);
  put("Old", "redirect: /Posts/P01\n", 3, 3);
  put("notes.txt", "just some notes\n", 3, 3);
  put("static/css/style.css", "body { color: red; }\n", 1, 5);
  put("static/img/dot.png", std::string("\x89PNG\r\n\x1a\n", 8), 1, 1);
  return store;
}

std::shared_ptr<const Snapshot> rendered(const kv::Store& store, const Snapshot* previous = nullptr,
                                         const RenderOptions& options = {}) {
  auto snapshot = render(store, options, previous, render_test_log);
  EXPECT_TRUE(snapshot) << (snapshot ? "" : snapshot.error().message());
  return snapshot ? *snapshot : nullptr;
}

std::string page(const Snapshot& snapshot, std::string_view key) {
  auto value = snapshot.get(key);
  EXPECT_TRUE(value) << key;
  return value ? std::string(as_string(value->data)) : std::string();
}

// The order in which `needles` appear in `text`; -1 for one that is missing.
std::vector<std::ptrdiff_t> positions(std::string_view text, const std::vector<std::string>& needles) {
  std::vector<std::ptrdiff_t> found;
  for (const auto& needle : needles) {
    auto at = text.find(needle);
    found.push_back(at == std::string_view::npos ? -1 : static_cast<std::ptrdiff_t>(at));
  }
  return found;
}

bool increasing(const std::vector<std::ptrdiff_t>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] < 0 || (i > 0 && values[i] <= values[i - 1])) return false;
  }
  return true;
}

// The repository above, rendered once.
class BlogRenderedRepository : public ::testing::Test {
protected:
  test::MemoryStore store = canopy_repository();
  std::shared_ptr<const Snapshot> snapshot = rendered(store);
};

TEST_F(BlogRenderedRepository, IndexListsTheIndexFolderNewestFirst) {
  ASSERT_TRUE(snapshot);
  auto index = page(*snapshot, "");
  EXPECT_TRUE(index.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
  EXPECT_NE(index.find("<title>Morgana&#39;s blog</title>"), std::string::npos);
  EXPECT_TRUE(increasing(positions(index, {"/Posts/P12\"", "/Posts/P11\"", "/Posts/P07\"", "/Posts/P01\""})));
  EXPECT_NE(index.find("<time datetime=\"2024-01-12\">2024-01-12</time>"), std::string::npos);
  EXPECT_NE(index.find("<p class=\"abstract\">About P12.</p>"), std::string::npos);
  EXPECT_NE(index.find("by Ada"), std::string::npos);
  // Only the index folder's articles, but the navigation names every top-level folder and root article.
  EXPECT_EQ(index.find("href=\"/Other/Note\""), std::string::npos);
  EXPECT_TRUE(increasing(
      positions(index, {"href=\"/Other\">Other</a>", "href=\"/Posts\">Posts</a>", "href=\"/About\">About me</a>"})));
  EXPECT_NE(index.find("<link rel=\"stylesheet\" href=\"/static/morgana-blog.css\">\n"
                       "<link rel=\"stylesheet\" href=\"/static/css/style.css\">"),
            std::string::npos);
  auto metadata = snapshot->metadata("");
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(metadata->last_modified, january(20)); // P07's update, the newest the index shows
  EXPECT_EQ(metadata->digest.size(), 64U);
}

TEST_F(BlogRenderedRepository, ArticlesCategoriesAndTags) {
  ASSERT_TRUE(snapshot);
  auto p07 = page(*snapshot, "Posts/P07");
  EXPECT_NE(p07.find("<h1>P07</h1>"), std::string::npos);
  EXPECT_NE(p07.find("<p>Text of P07.</p>"), std::string::npos);
  EXPECT_NE(p07.find("2024-01-07"), std::string::npos);
  EXPECT_NE(p07.find("updated <time datetime=\"2024-01-20\">"), std::string::npos);
  EXPECT_NE(p07.find("<a href=\"/tags/all\">all</a>"), std::string::npos);
  EXPECT_EQ(snapshot->metadata("Posts/P07")->last_modified, january(20));

  auto other = page(*snapshot, "Other");
  EXPECT_NE(other.find("href=\"/Other/Note\""), std::string::npos);
  EXPECT_EQ(other.find("/Posts/"), std::string::npos);
  auto posts = page(*snapshot, "Posts");
  EXPECT_TRUE(increasing(positions(posts, {"/Posts/P12\"", "/Posts/P02\"", "/Posts/P01\""})));

  auto tags = page(*snapshot, "tags");
  EXPECT_TRUE(increasing(positions(tags, {">all</a> (12)", ">c&amp;c</a> (1)", ">even</a> (6)"})));
  auto even = page(*snapshot, "tags/even");
  EXPECT_TRUE(increasing(positions(even, {"/Posts/P12\"", "/Posts/P10\"", "/Posts/P02\""})));
  EXPECT_EQ(even.find("/Posts/P01\""), std::string::npos);
  EXPECT_TRUE(snapshot->metadata("tags/c&c"));
  EXPECT_EQ(snapshot->metadata("tags/odd").error(), Errc::not_found);
  EXPECT_EQ(snapshot->get("Posts/P99").error(), Errc::not_found);
}

TEST_F(BlogRenderedRepository, EscapesHeaders) {
  ASSERT_TRUE(snapshot);
  auto note = page(*snapshot, "Other/Note");
  EXPECT_NE(note.find("<h1>A &lt;note&gt; &amp; &quot;quotes&quot; &#39;too&#39;</h1>"), std::string::npos);
  EXPECT_NE(note.find("<title>A &lt;note&gt; &amp; &quot;quotes&quot; &#39;too&#39; · Morgana&#39;s blog</title>"),
            std::string::npos);
  EXPECT_NE(note.find("<a href=\"/tags/c&amp;c\">c&amp;c</a>"), std::string::npos);
  EXPECT_EQ(note.find("<note>"), std::string::npos);
  EXPECT_EQ(page(*snapshot, "Other").find("<note>"), std::string::npos);
  EXPECT_EQ(page(*snapshot, "atom").find("<note>"), std::string::npos);
}

TEST(BlogRender, FeedHoldsTheTenNewestWithCanopysIds) {
  auto store = canopy_repository();
  RenderOptions options{.head_date = january(21)};
  auto snapshot = rendered(store, nullptr, options);
  ASSERT_TRUE(snapshot);
  auto feed = page(*snapshot, "atom");
  EXPECT_EQ(snapshot->metadata("atom")->content_type, "application/atom+xml");
  std::size_t entries = 0;
  for (auto at = feed.find("<entry>"); at != std::string::npos; at = feed.find("<entry>", at + 1)) ++entries;
  EXPECT_EQ(entries, 10U);
  // Newest created first: the note (13th), P12 … P04; P03 and older, and About (the 1st), left out.
  EXPECT_TRUE(increasing(positions(feed, {canopy_entry_id(january(13), uuid), canopy_entry_id(january(12), uuid),
                                          canopy_entry_id(january(4), uuid)})));
  EXPECT_EQ(feed.find(canopy_entry_id(january(3), uuid)), std::string::npos);
  EXPECT_NE(feed.find("https://blog.example.org/Posts/P12"), std::string::npos);
  EXPECT_NE(feed.find("<updated>2024-01-21T00:00:00Z</updated>"), std::string::npos);
}

TEST_F(BlogRenderedRepository, SkipsRedirectsAndServesStaticFiles) {
  ASSERT_TRUE(snapshot);
  const auto& stats = snapshot->stats();
  EXPECT_EQ(stats.articles, 14U);
  EXPECT_EQ(stats.articles_rendered, 14U);
  EXPECT_EQ(stats.skipped, 1U); // notes.txt
  EXPECT_EQ(stats.static_files, 2U);
  EXPECT_EQ(snapshot->get("notes.txt").error(), Errc::not_found);
  EXPECT_EQ(snapshot->redirect("Old"), "/Posts/P01");
  EXPECT_FALSE(snapshot->redirect("Posts/P01"));
  EXPECT_EQ(snapshot->get("Old").error(), Errc::not_found);

  EXPECT_EQ(page(*snapshot, "static/img/dot.png"), std::string("\x89PNG\r\n\x1a\n", 8));
  auto css = snapshot->metadata("static/css/style.css");
  ASSERT_TRUE(css);
  EXPECT_EQ(css->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(css->last_modified, january(5));
  EXPECT_NE(page(*snapshot, "static/morgana-blog.css").find("max-width"), std::string::npos);

  auto root = snapshot->list("");
  ASSERT_TRUE(root);
  std::vector<std::string> names;
  for (const auto& entry : *root) names.push_back(entry.name + (entry.is_directory ? "/" : ""));
  EXPECT_EQ(names, (std::vector<std::string>{"About", "Other", "Other/", "Posts", "Posts/", "atom", "static/", "tags",
                                             "tags/"}));
}

TEST_F(BlogRenderedRepository, PagesHaveGzipVariants) {
  ASSERT_TRUE(snapshot);
  for (auto key : {"", "Posts/P01", "Posts", "tags", "tags/all", "atom", "static/morgana-blog.css"}) {
    auto gzip = snapshot->get_encoded(key, kv::Encoding::gzip);
    ASSERT_TRUE(gzip) << key;
    EXPECT_EQ(gunzip(as_string(gzip->data)), page(*snapshot, key)) << key;
  }
  EXPECT_EQ(snapshot->get_encoded("static/img/dot.png", kv::Encoding::gzip).error(), Errc::not_found);
}

TEST(BlogRender, RendersOnlyWhatChanged) {
  auto store = canopy_repository();
  auto first = rendered(store);
  ASSERT_TRUE(first);

  // Nothing changed: everything is shared.
  auto same = rendered(store, first.get());
  ASSERT_TRUE(same);
  EXPECT_EQ(same->stats().articles_rendered, 0U);
  EXPECT_EQ(same->stats().pages_rendered, 0U);

  // P02 (tags even, all) edited on the 25th.
  store.put("Posts/P02", article("P02 again", "even, all"), january(2), january(25));
  auto second = rendered(store, first.get());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stats().articles_rendered, 1U);
  // The index, Posts, tags/even, tags/all; not the feed (P02 is not among the 10 newest), tags, Other, 404.
  EXPECT_EQ(second->stats().pages_rendered, 4U);
  EXPECT_NE(page(*second, "Posts/P02").find("<h1>P02 again</h1>"), std::string::npos);
  EXPECT_NE(page(*second, "tags/even").find("P02 again"), std::string::npos);
  for (auto key : {"Posts/P03", "Other/Note", "atom", "Other", "tags", "static/css/style.css"}) {
    auto before = first->get(key);
    auto after = second->get(key);
    ASSERT_TRUE(before && after) << key;
    EXPECT_EQ(before->data.data(), after->data.data()) << key; // the same bytes, shared
    EXPECT_EQ(first->metadata(key)->digest, second->metadata(key)->digest) << key;
  }
  EXPECT_NE(first->metadata("")->digest, second->metadata("")->digest);
  EXPECT_EQ(second->metadata("")->last_modified, january(25));

  // A new article in the feed's range and a deleted one.
  store.put("Posts/P14", article("P14"), january(14), january(14));
  store.remove("Posts/P12");
  auto third = rendered(store, second.get());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->stats().articles_rendered, 1U);
  EXPECT_EQ(third->get("Posts/P12").error(), Errc::not_found);
  EXPECT_NE(page(*third, "atom").find(canopy_entry_id(january(14), uuid)), std::string::npos);
  EXPECT_EQ(page(*third, "").find("/Posts/P12\""), std::string::npos);
}

// Every key of a snapshot with its bytes.
std::map<std::string, std::string> contents(const Snapshot& snapshot) {
  std::map<std::string, std::string> all{{"", page(snapshot, "")}};
  std::vector<std::string> prefixes{""};
  while (!prefixes.empty()) {
    auto prefix = prefixes.back();
    prefixes.pop_back();
    for (const auto& entry : *snapshot.list(prefix)) {
      auto key = prefix.empty() ? entry.name : prefix + "/" + entry.name;
      if (entry.is_directory) prefixes.push_back(key);
      else all[key] = page(snapshot, key);
    }
  }
  return all;
}

TEST(BlogRender, AnIncrementalRenderEqualsAFullOne) {
  auto store = canopy_repository();
  auto first = rendered(store);
  ASSERT_TRUE(first);
  // A new root page (the navigation of every page changes), an edited title, a deleted category, a new tag.
  store.put("Contact", article("Contact"), january(15), january(15));
  store.put("Posts/P09", article("P09 renamed", "fresh"), january(9), january(27));
  store.remove("Other/Note");
  auto incremental = rendered(store, first.get());
  auto full = rendered(store);
  ASSERT_TRUE(incremental && full);
  auto expected = contents(*full);
  EXPECT_EQ(contents(*incremental), expected);
  for (const auto& [key, bytes] : expected) {
    // List pages' digests hash their entries' SHA-256s: the same however the page came about.
    EXPECT_EQ(incremental->metadata(key)->digest, full->metadata(key)->digest) << key;
  }
  EXPECT_TRUE(expected.contains("tags/fresh"));
  EXPECT_FALSE(expected.contains("Other"));
  EXPECT_EQ(incremental->stats().articles_rendered, 14U); // the navigation changed: every article again
  EXPECT_EQ(incremental->not_found_page().bytes, full->not_found_page().bytes);
}

TEST(BlogRender, ListsAreRenderedAgainOnlyWhenWhatTheyShowChanged) {
  auto store = canopy_repository();
  auto first = rendered(store);
  ASSERT_TRUE(first);
  // P03's text edited later the same day: its entry in lists (title, author,
  // dates as days, tags, abstract) is the same, and P07's update stays the newest.
  store.put("Posts/P03", article("P03", "all", "New text."), january(3), january(3, 5));
  auto second = rendered(store, first.get());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stats().articles_rendered, 1U);
  EXPECT_EQ(second->stats().pages_rendered, 0U);
  EXPECT_NE(page(*second, "Posts/P03").find("New text."), std::string::npos);
  for (auto key : {"", "Posts", "tags/all"}) {
    EXPECT_EQ(first->get(key)->data.data(), second->get(key)->data.data()) << key;
  }

  // Its abstract changed: the lists showing it, and only those, again; their digests follow.
  store.put("Posts/P03", "---\ntitle: P03\nauthor: Ada\ntags: all\nabstract: Changed.\n---\nNew text.\n", january(3),
            january(3, 6));
  auto third = rendered(store, second.get());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->stats().pages_rendered, 3U); // the index, Posts, tags/all
  for (auto key : {"", "Posts", "tags/all"}) {
    EXPECT_NE(page(*third, key).find("Changed."), std::string::npos) << key;
    EXPECT_NE(second->metadata(key)->digest, third->metadata(key)->digest) << key;
  }
  EXPECT_EQ(second->metadata("tags/even")->digest, third->metadata("tags/even")->digest);
}

// docs/DESIGN-memory.md, rule 2: short of memory, a render fails (the
// previous snapshot stays served) where a page's allocation would stop the image.
TEST(BlogRender, ShortOfMemoryARenderFailsInsteadOfStoppingTheImage) {
  struct RoomyAgain {
    ~RoomyAgain() { sim::reset(); }
  } roomy_again;
  auto store = canopy_repository();
  auto first = rendered(store);
  ASSERT_TRUE(first);
  store.put("Posts/P14", article("P14"), january(14), january(14));
  sim::set_memory(std::size_t{8} << 20, 256 * 1024); // the reserve for serving, nothing for pages
  auto starved = render(store, {}, first.get(), render_test_log);
  ASSERT_FALSE(starved);
  EXPECT_EQ(starved.error(), Errc::no_memory);
  EXPECT_EQ(first->get("Posts/P14").error(), Errc::not_found);

  sim::set_memory(std::size_t{8} << 20, std::size_t{4} << 20);
  auto fed = rendered(store, first.get());
  ASSERT_TRUE(fed);
  EXPECT_NE(page(*fed, "Posts/P14").find("<h1>P14</h1>"), std::string::npos);
}

TEST(BlogRender, AnArticleThatNoLongerParsesKeepsItsPage) {
  auto store = canopy_repository();
  auto first = rendered(store);
  ASSERT_TRUE(first);
  store.put("Posts/P05", "---\ntitle: P05 broken\n---\nno author\n", january(5), january(26));
  sim::clear_console();
  auto second = rendered(store, first.get());
  EXPECT_NE(sim::console_output().find("Posts/P05: "), std::string::npos) << sim::console_output();
  EXPECT_NE(sim::console_output().find("serving the previous version"), std::string::npos);
  EXPECT_NE(sim::console_output().find("notes.txt: skipped: "), std::string::npos);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stats().articles, 14U);
  EXPECT_EQ(second->stats().articles_rendered, 0U);
  EXPECT_EQ(second->stats().skipped, 1U); // notes.txt still; P05 is kept, not skipped
  EXPECT_EQ(second->stats().kept, 1U);
  EXPECT_EQ(first->get("Posts/P05")->data.data(), second->get("Posts/P05")->data.data());
  EXPECT_NE(page(*second, "Posts").find("/Posts/P05\""), std::string::npos);

  // Without a previous rendering it is skipped.
  auto fresh = rendered(store);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->stats().skipped, 2U);
  EXPECT_EQ(fresh->get("Posts/P05").error(), Errc::not_found);
}

TEST(BlogRender, StoresWithoutDigestsOrDatesStillRender) {
  test::MemoryStore store{{".config/uuid", std::string(uuid)}, {"Index/Hello", article("Hello")}};
  auto first = rendered(store);
  ASSERT_TRUE(first);
  EXPECT_NE(page(*first, "").find("/Index/Hello\""), std::string::npos);
  auto second = rendered(store, first.get());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->stats().articles_rendered, 0U);

  test::MemoryStore unconfigured{{"Index/Hello", article("Hello")}};
  EXPECT_EQ(render(unconfigured, {}, nullptr, render_test_log).error(), Errc::not_found);
}

TEST(BlogRender, TheBlogsOwnKeysWinOverFiles) {
  auto store = canopy_repository();
  store.put("atom", article("Atom"), january(1), january(1));
  store.put("tags/x", article("X"), january(1), january(1));
  store.put("static/morgana-blog.css", "body {}", january(1), january(1));
  auto snapshot = rendered(store);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->stats().skipped, 4U); // these and notes.txt
  EXPECT_TRUE(page(*snapshot, "atom").starts_with("<?xml"));
  EXPECT_EQ(snapshot->get("tags/x").error(), Errc::not_found);
  EXPECT_NE(page(*snapshot, "static/morgana-blog.css"), "body {}");
}

http::Request request(std::string_view path, std::string_view method = "GET") {
  http::Request request;
  request.method = method;
  request.path = std::string(path);
  return request;
}

TEST(BlogHandler, MapsPathsToExactKeys) {
  auto store = canopy_repository();
  Handler blog(rendered(store));
  ASSERT_TRUE(blog.snapshot());

  for (auto path : {"/", "/Posts", "/Posts/P01", "/tags", "/tags/even", "/atom", "/static/css/style.css"}) {
    auto response = blog.respond(request(path));
    EXPECT_EQ(response.status, http::Status::ok) << path;
    EXPECT_EQ(as_string(response.body.data), page(*blog.snapshot(), std::string_view(path).substr(1))) << path;
  }
  auto slash = blog.respond(request("/Posts/"));
  EXPECT_EQ(slash.status, http::Status::moved_permanently);
  EXPECT_EQ(slash.headers.get("Location"), "/Posts");
  auto with_query = request("/Posts/");
  with_query.query = "page=2";
  EXPECT_EQ(blog.respond(with_query).headers.get("Location"), "/Posts?page=2");
  auto range = request("/static/css/style.css");
  range.headers.add("Range", "bytes=0-3");
  auto part = blog.respond(range);
  EXPECT_EQ(part.status, http::Status::partial_content);
  EXPECT_EQ(as_string(part.body.data), "body");
  auto old = blog.respond(request("/Old"));
  EXPECT_EQ(old.status, http::Status::moved_permanently);
  EXPECT_EQ(old.headers.get("Location"), "/Posts/P01");
  for (auto path : {"/tags/odd", "/notes.txt", "/Posts/P99", "/index.html"}) {
    auto missing = blog.respond(request(path));
    EXPECT_EQ(missing.status, http::Status::not_found) << path;
    EXPECT_NE(as_string(missing.body.data).find("<h1>Not found</h1>"), std::string_view::npos);
  }
  EXPECT_EQ(blog.respond(request("/", "POST")).status, http::Status::method_not_allowed);

  auto fresh = blog.respond(request("/Posts/P01"));
  auto etag = fresh.headers.get("ETag");
  ASSERT_TRUE(etag);
  auto again = request("/Posts/P01");
  again.headers.add("If-None-Match", *etag);
  EXPECT_EQ(blog.respond(again).status, http::Status::not_modified);
  auto gzip = request("/Posts/P01");
  gzip.headers.add("Accept-Encoding", "gzip");
  auto compressed = blog.respond(gzip);
  EXPECT_EQ(compressed.headers.get("Content-Encoding"), "gzip");
  EXPECT_EQ(gunzip(as_string(compressed.body.data)), page(*blog.snapshot(), "Posts/P01"));
}

} // namespace
} // namespace morgana::blog
