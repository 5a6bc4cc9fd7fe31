#include "morgana/blog/atom.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace morgana::blog {
namespace {

WallClock::time_point at(std::int64_t seconds) { return WallClock::time_point{std::chrono::seconds(seconds)}; }

// Expected ids computed with Python 3's uuid module, as Canopy makes them:
//   stamp = "2016-03-01T10:20:30-00:00"   # the created time, Ptime.to_rfc3339
//   uuid.uuid5(uuid.uuid5(uuid.NAMESPACE_DNS, stamp), "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e")
TEST(BlogAtom, EntryIdsAreCanopys) {
  EXPECT_EQ(canopy_entry_id(at(1456827630), "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e"),
            "urn:uuid:1b6ac8dd-ca96-5284-a6d3-8d2595bbba8b");
  EXPECT_EQ(canopy_entry_id(at(0), "my blog"), "urn:uuid:ff710e70-2e80-5f6d-a586-004567fe6d7d");
  // Sub-second parts do not change the id (Canopy's stamp had none).
  EXPECT_EQ(canopy_entry_id(at(0) + std::chrono::milliseconds(500), "my blog"), canopy_entry_id(at(0), "my blog"));
}

TEST(BlogAtom, WritesTheWholeFeed) {
  std::vector<std::string> tags{"mirage", "c++"};
  std::vector<FeedEntry> entries{
      {.path = "Posts/Hello world",
       .title = "Hello",
       .author = "Ada",
       .author_url = "https://example.org/ada",
       .summary = "First.",
       .content_html = "<p>Hi</p>",
       .tags = tags,
       .published = at(1456827630),
       .updated = at(1456914030)},
      {.path = "About", .title = "About", .author = "Bob", .content_html = "", .published = at(0), .updated = at(0)},
  };
  Feed feed{.uuid = "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e",
            .title = "My blog",
            .root = "https://blog.example.org",
            .updated = at(1456914030),
            .entries = entries};
  EXPECT_EQ(write_atom(feed),
            R"(<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:uuid:f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e</id>
  <title>My blog</title>
  <updated>2016-03-02T10:20:30Z</updated>
  <link rel="self" type="application/atom+xml" href="https://blog.example.org/atom"/>
  <link rel="alternate" type="text/html" href="https://blog.example.org/"/>
  <entry>
    <id>urn:uuid:1b6ac8dd-ca96-5284-a6d3-8d2595bbba8b</id>
    <title>Hello</title>
    <published>2016-03-01T10:20:30Z</published>
    <updated>2016-03-02T10:20:30Z</updated>
    <author>
      <name>Ada</name>
      <uri>https://example.org/ada</uri>
    </author>
    <link rel="alternate" type="text/html" href="https://blog.example.org/Posts/Hello%20world"/>
    <category term="mirage" scheme="https://blog.example.org/tags/mirage"/>
    <category term="c++" scheme="https://blog.example.org/tags/c++"/>
    <summary>First.</summary>
    <content type="html">&lt;p&gt;Hi&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>urn:uuid:)" +
                canopy_entry_id(at(0), feed.uuid).substr(9) +
                R"(</id>
    <title>About</title>
    <published>1970-01-01T00:00:00Z</published>
    <updated>1970-01-01T00:00:00Z</updated>
    <author>
      <name>Bob</name>
    </author>
    <link rel="alternate" type="text/html" href="https://blog.example.org/About"/>
    <content type="html"></content>
  </entry>
</feed>
)");
}

TEST(BlogAtom, EscapesEverythingFromHeaders) {
  std::vector<std::string> tags{"a<b>&\"c'"};
  std::vector<FeedEntry> entries{{.path = "/Posts/x\"y",
                                  .title = "<script>&amp;",
                                  .author = "A & \"B\"",
                                  .author_url = "https://x/?a=1&b='2'",
                                  .summary = "1 < 2",
                                  .content_html = "<p>a &amp; b</p>\x01",
                                  .tags = tags}};
  Feed feed{.uuid = "u<", .title = "T & T", .root = "https://r", .entries = entries};
  auto xml = write_atom(feed);
  for (std::string_view expected :
       {"<id>urn:uuid:u&lt;</id>", "<title>T &amp; T</title>", "<title>&lt;script&gt;&amp;amp;</title>",
        "<name>A &amp; &quot;B&quot;</name>", "<uri>https://x/?a=1&amp;b=&#39;2&#39;</uri>",
        "<summary>1 &lt; 2</summary>", "href=\"https://r/Posts/x%22y\"",
        "term=\"a&lt;b&gt;&amp;&quot;c&#39;\" scheme=\"https://r/tags/a%3Cb%3E&amp;%22c&#39;\"",
        "<content type=\"html\">&lt;p&gt;a &amp;amp; b&lt;/p&gt;\xEF\xBF\xBD</content>"}) {
    EXPECT_NE(xml.find(expected), std::string::npos) << expected << "\nin\n" << xml;
  }
}

TEST(BlogAtom, AnEmptyFeedIsStillAFeed) {
  auto xml = write_atom({.uuid = "u", .title = "T", .root = "http://localhost"});
  EXPECT_TRUE(
      xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
  EXPECT_TRUE(xml.ends_with("</feed>\n"));
  EXPECT_EQ(xml.find("<entry>"), std::string::npos);
  EXPECT_NE(xml.find("<updated>1970-01-01T00:00:00Z</updated>"), std::string::npos);
}

} // namespace
} // namespace morgana::blog
