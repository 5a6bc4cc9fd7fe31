#include "morgana/kv/mime.h"

#include <gtest/gtest.h>

namespace morgana::kv {
namespace {

TEST(HttpMime, TextTypesCarryCharset) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("old/page.htm"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("css/site.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("module.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("data.json"), "application/json; charset=utf-8");
  EXPECT_EQ(mime_type("sitemap.xml"), "application/xml; charset=utf-8");
  EXPECT_EQ(mime_type("feed.atom"), "application/atom+xml; charset=utf-8");
  EXPECT_EQ(mime_type("feed.rss"), "application/rss+xml; charset=utf-8");
  EXPECT_EQ(mime_type("logo.svg"), "image/svg+xml; charset=utf-8");
  EXPECT_EQ(mime_type("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type("posts/hello.md"), "text/markdown; charset=utf-8");
  EXPECT_EQ(mime_type("table.csv"), "text/csv; charset=utf-8");
}

TEST(HttpMime, BinaryTypesHaveNoCharset) {
  EXPECT_EQ(mime_type("a.png"), "image/png");
  EXPECT_EQ(mime_type("a.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type("a.jpeg"), "image/jpeg");
  EXPECT_EQ(mime_type("a.gif"), "image/gif");
  EXPECT_EQ(mime_type("a.webp"), "image/webp");
  EXPECT_EQ(mime_type("a.avif"), "image/avif");
  EXPECT_EQ(mime_type("favicon.ico"), "image/vnd.microsoft.icon");
  EXPECT_EQ(mime_type("f.woff"), "font/woff");
  EXPECT_EQ(mime_type("f.woff2"), "font/woff2");
  EXPECT_EQ(mime_type("f.ttf"), "font/ttf");
  EXPECT_EQ(mime_type("f.otf"), "font/otf");
  EXPECT_EQ(mime_type("paper.pdf"), "application/pdf");
  EXPECT_EQ(mime_type("m.wasm"), "application/wasm");
  EXPECT_EQ(mime_type("v.mp4"), "video/mp4");
  EXPECT_EQ(mime_type("v.webm"), "video/webm");
  EXPECT_EQ(mime_type("s.mp3"), "audio/mpeg");
  EXPECT_EQ(mime_type("a.zip"), "application/zip");
  EXPECT_EQ(mime_type("a.tar.gz"), "application/gzip");
}

TEST(HttpMime, ExtensionsCompareIgnoringCase) {
  EXPECT_EQ(mime_type("INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("Photo.JpEg"), "image/jpeg");
}

TEST(HttpMime, UnknownAndMissingExtensionsAreOctetStream) {
  EXPECT_EQ(mime_type("binary.xyz"), "application/octet-stream");
  EXPECT_EQ(mime_type("Makefile"), "application/octet-stream");
  EXPECT_EQ(mime_type(""), "application/octet-stream");
  EXPECT_EQ(mime_type("name."), "application/octet-stream");
  EXPECT_EQ(mime_type(".html"), "application/octet-stream");
  // The extension is the last file name's, not a directory's.
  EXPECT_EQ(mime_type("v1.css/readme"), "application/octet-stream");
  EXPECT_EQ(mime_type("dir.d/page.html"), "text/html; charset=utf-8");
  // Only the whole extension matches ("html" is not "htmlx").
  EXPECT_EQ(mime_type("a.htmlx"), "application/octet-stream");
  EXPECT_EQ(mime_type("a.ht"), "application/octet-stream");
}

TEST(HttpMime, CompressibleTypes) {
  EXPECT_TRUE(is_compressible("text/html; charset=utf-8"));
  EXPECT_TRUE(is_compressible("text/plain"));
  EXPECT_TRUE(is_compressible("TEXT/CSS"));
  EXPECT_TRUE(is_compressible("application/json; charset=utf-8"));
  EXPECT_TRUE(is_compressible("application/atom+xml; charset=utf-8"));
  EXPECT_TRUE(is_compressible("application/manifest+json"));
  EXPECT_TRUE(is_compressible("image/svg+xml; charset=utf-8"));
  EXPECT_TRUE(is_compressible("application/wasm"));
  EXPECT_TRUE(is_compressible("font/ttf"));
  EXPECT_TRUE(is_compressible("image/vnd.microsoft.icon"));
  EXPECT_TRUE(is_compressible("application/json ;charset=utf-8"));
}

TEST(HttpMime, IncompressibleTypes) {
  EXPECT_FALSE(is_compressible("image/png"));
  EXPECT_FALSE(is_compressible("image/jpeg"));
  EXPECT_FALSE(is_compressible("font/woff2"));
  EXPECT_FALSE(is_compressible("application/gzip"));
  EXPECT_FALSE(is_compressible("application/zip"));
  EXPECT_FALSE(is_compressible("video/mp4"));
  EXPECT_FALSE(is_compressible("application/octet-stream"));
  EXPECT_FALSE(is_compressible(""));
  EXPECT_FALSE(is_compressible("+xml"));
}

TEST(HttpMime, EveryTypeFromMimeTypeAgreesWithIsCompressible) {
  // Text types are exactly the ones that carry a charset.
  for (auto name : {"a.html", "a.css", "a.js", "a.json", "a.xml", "a.atom", "a.rss", "a.svg", "a.txt", "a.md", "a.csv",
                    "a.webmanifest"}) {
    auto type = mime_type(name);
    EXPECT_NE(type.find("; charset=utf-8"), std::string_view::npos) << name;
    EXPECT_TRUE(is_compressible(type)) << name;
  }
}

} // namespace
} // namespace morgana::kv
