#include "morgana/http/static_files.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "morgana/http/date.h"

namespace morgana::http {
namespace {

// A small in-memory store: files by key, an optional gzip variant each.
class TestStore final : public kv::Store {
public:
  struct File {
    std::string content;
    std::string gzip; // empty: no variant
    std::string digest;
    std::int64_t modified = 0;
    std::string type;
  };

  void put(std::string key, File file) { m_files[std::move(key)] = std::move(file); }

  Result<kv::Value> get(kv::Key key) const override {
    auto* file = find(key);
    if (!file) return fail(Errc::not_found);
    return kv::Value{as_bytes(file->content), nullptr};
  }
  Result<kv::Metadata> metadata(kv::Key key) const override {
    auto* file = find(key);
    if (!file) return fail(Errc::not_found);
    return kv::Metadata{file->content.size(), file->digest, WallClock::time_point{std::chrono::seconds(file->modified)},
                        file->type};
  }
  Result<std::vector<kv::ListEntry>> list(kv::Key prefix) const override {
    std::vector<kv::ListEntry> entries;
    std::string directory = prefix.empty() ? "" : std::string(prefix) + "/";
    for (const auto& [key, file] : m_files) {
      if (!key.starts_with(directory)) continue;
      auto rest = key.substr(directory.size());
      auto slash = rest.find('/');
      entries.push_back({rest.substr(0, slash), slash != std::string::npos});
    }
    if (entries.empty()) return fail(Errc::not_found);
    return entries;
  }
  Result<kv::Value> get_encoded(kv::Key key, kv::Encoding encoding) const override {
    if (encoding == kv::Encoding::identity) return get(key);
    auto* file = find(key);
    if (!file || file->gzip.empty()) return fail(Errc::not_found);
    return kv::Value{as_bytes(file->gzip), nullptr};
  }

private:
  const File* find(kv::Key key) const {
    auto it = m_files.find(std::string(key));
    return it == m_files.end() ? nullptr : &it->second;
  }
  std::map<std::string, File> m_files;
};

constexpr std::int64_t modified = 1'700'000'000;

class HttpStaticFilesTest : public ::testing::Test {
protected:
  HttpStaticFilesTest() {
    m_store->put("index.html", {"<h1>home</h1>", "", "d1", modified, "text/html; charset=utf-8"});
    m_store->put("docs/index.html", {"docs", "", "d2", modified, ""});
    m_store->put("docs/a.txt", {"0123456789", "GZIPPED", "d3", modified, ""});
    m_store->put("404.html", {"not here", "", "d4", modified, ""});
  }

  Response get(std::string_view path, std::initializer_list<Field> fields = {}, std::string_view method = "GET") {
    Request request;
    request.method = method;
    request.path = path;
    for (const auto& field : fields) request.headers.add(field.name, field.value);
    return m_files.respond(request);
  }

  static std::string body(const Response& response) { return std::string(as_string(response.body.data)); }

  std::shared_ptr<TestStore> m_store = std::make_shared<TestStore>();
  StaticFiles m_files{m_store};
};

TEST_F(HttpStaticFilesTest, MapsPathsToKeys) {
  auto home = get("/");
  EXPECT_EQ(home.status, Status::ok);
  EXPECT_EQ(body(home), "<h1>home</h1>");
  EXPECT_EQ(home.headers.get("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(home.headers.get("ETag"), "\"d1\"");
  EXPECT_EQ(home.headers.get("Cache-Control"), "public, max-age=300");
  EXPECT_EQ(home.headers.get("Last-Modified"), format_http_date(WallClock::time_point{std::chrono::seconds(modified)}));
  EXPECT_EQ(body(get("/docs/")), "docs");
  auto text = get("/docs/a.txt");
  EXPECT_EQ(text.headers.get("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(text.headers.get("Accept-Ranges"), "bytes");
}

TEST_F(HttpStaticFilesTest, RedirectsDirectoriesToTheirSlash) {
  Request request;
  request.method = "GET";
  request.path = "/docs";
  request.query = "x=1";
  auto response = m_files.respond(request);
  EXPECT_EQ(response.status, Status::moved_permanently);
  EXPECT_EQ(response.headers.get("Location"), "/docs/?x=1");
}

TEST_F(HttpStaticFilesTest, MissingFilesGetThe404Page) {
  auto response = get("/missing.png");
  EXPECT_EQ(response.status, Status::not_found);
  EXPECT_EQ(body(response), "not here");
  EXPECT_EQ(response.headers.get("Content-Type"), "text/html; charset=utf-8");
  auto bare = std::make_shared<TestStore>();
  StaticFiles files(bare);
  Request request;
  request.method = "GET";
  request.path = "/x";
  EXPECT_EQ(files.respond(request).status, Status::not_found);
}

TEST_F(HttpStaticFilesTest, OnlyGetAndHead) {
  auto response = get("/", {}, "POST");
  EXPECT_EQ(response.status, Status::method_not_allowed);
  EXPECT_EQ(response.headers.get("Allow"), "GET, HEAD");
  auto head = get("/", {}, "HEAD");
  EXPECT_EQ(head.status, Status::ok);
  EXPECT_EQ(head.body.size(), 13u);
}

TEST_F(HttpStaticFilesTest, IfNoneMatchGives304) {
  EXPECT_EQ(get("/", {{"If-None-Match", "\"d1\""}}).status, Status::not_modified);
  EXPECT_EQ(get("/", {{"If-None-Match", "\"x\", W/\"d1\""}}).status, Status::not_modified);
  EXPECT_EQ(get("/", {{"If-None-Match", "*"}}).status, Status::not_modified);
  EXPECT_EQ(get("/", {{"If-None-Match", "\"other\""}}).status, Status::ok);
  auto not_modified = get("/", {{"If-None-Match", "\"d1\""}});
  EXPECT_EQ(not_modified.headers.get("ETag"), "\"d1\"");
  EXPECT_EQ(not_modified.body.size(), 0u);
}

TEST_F(HttpStaticFilesTest, IfModifiedSinceGives304UnlessIfNoneMatchSaysOtherwise) {
  auto same = format_http_date(WallClock::time_point{std::chrono::seconds(modified)});
  auto earlier = format_http_date(WallClock::time_point{std::chrono::seconds(modified - 1)});
  EXPECT_EQ(get("/", {{"If-Modified-Since", same}}).status, Status::not_modified);
  EXPECT_EQ(get("/", {{"If-Modified-Since", earlier}}).status, Status::ok);
  EXPECT_EQ(get("/", {{"If-Modified-Since", "garbage"}}).status, Status::ok);
  // RFC 9110 §13.2.2: If-None-Match wins.
  EXPECT_EQ(get("/", {{"If-None-Match", "\"other\""}, {"If-Modified-Since", same}}).status, Status::ok);
}

TEST_F(HttpStaticFilesTest, ServesSingleRanges) {
  auto middle = get("/docs/a.txt", {{"Range", "bytes=2-4"}});
  EXPECT_EQ(middle.status, Status::partial_content);
  EXPECT_EQ(body(middle), "234");
  EXPECT_EQ(middle.headers.get("Content-Range"), "bytes 2-4/10");
  EXPECT_EQ(body(get("/docs/a.txt", {{"Range", "bytes=7-"}})), "789");
  EXPECT_EQ(body(get("/docs/a.txt", {{"Range", "bytes=-3"}})), "789");
  EXPECT_EQ(body(get("/docs/a.txt", {{"Range", "bytes=5-100"}})), "56789");
  EXPECT_EQ(body(get("/docs/a.txt", {{"Range", "bytes=-100"}})), "0123456789");
  // Several ranges, other units and bad syntax: the whole file.
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1,3-4"}}).status, Status::ok);
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "items=0-1"}}).status, Status::ok);
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=4-2"}}).status, Status::ok);
  // Not for HEAD.
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1"}}, "HEAD").status, Status::ok);
}

TEST_F(HttpStaticFilesTest, UnsatisfiableRangesGet416) {
  auto beyond = get("/docs/a.txt", {{"Range", "bytes=10-"}});
  EXPECT_EQ(beyond.status, Status::range_not_satisfiable);
  EXPECT_EQ(beyond.headers.get("Content-Range"), "bytes */10");
  EXPECT_EQ(beyond.body.size(), 0u);
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=-0"}}).status, Status::range_not_satisfiable);
}

TEST_F(HttpStaticFilesTest, IfRangeAppliesTheRangeOnlyWhenCurrent) {
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1"}, {"If-Range", "\"d3\""}}).status, Status::partial_content);
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1"}, {"If-Range", "\"old\""}}).status, Status::ok);
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1"}, {"If-Range", "W/\"d3\""}}).status, Status::ok);
  auto date = format_http_date(WallClock::time_point{std::chrono::seconds(modified)});
  EXPECT_EQ(get("/docs/a.txt", {{"Range", "bytes=0-1"}, {"If-Range", date}}).status, Status::partial_content);
}

TEST_F(HttpStaticFilesTest, SendsTheGzipVariantWhenAccepted) {
  auto gzip = get("/docs/a.txt", {{"Accept-Encoding", "br, gzip;q=0.5"}});
  EXPECT_EQ(body(gzip), "GZIPPED");
  EXPECT_EQ(gzip.headers.get("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip.headers.get("Vary"), "Accept-Encoding");
  EXPECT_EQ(gzip.headers.get("ETag"), "\"d3-gzip\"");
  auto refused = get("/docs/a.txt", {{"Accept-Encoding", "gzip;q=0, *"}});
  EXPECT_EQ(body(refused), "0123456789");
  EXPECT_EQ(refused.headers.get("Vary"), "Accept-Encoding");
  EXPECT_EQ(body(get("/docs/a.txt", {{"Accept-Encoding", "*;q=0.1"}})), "GZIPPED");
  EXPECT_EQ(body(get("/docs/a.txt")), "0123456789");
  // Ranges are of the identity bytes.
  EXPECT_EQ(body(get("/docs/a.txt", {{"Accept-Encoding", "gzip"}, {"Range", "bytes=0-1"}})), "01");
  // 304 against the variant's own validator.
  EXPECT_EQ(get("/docs/a.txt", {{"Accept-Encoding", "gzip"}, {"If-None-Match", "\"d3-gzip\""}}).status,
            Status::not_modified);
  // No variant: no Vary.
  EXPECT_FALSE(get("/", {{"Accept-Encoding", "gzip"}}).headers.contains("Vary"));
}

TEST_F(HttpStaticFilesTest, DecoratesEveryResponse) {
  StaticFilesOptions options;
  options.cache_control = "no-cache";
  options.decorate = [](const Request& request, Response& response) {
    if (request.secure) response.headers.add("Strict-Transport-Security", "max-age=31536000");
  };
  StaticFiles files(m_store, options);
  Request request;
  request.method = "GET";
  request.path = "/missing";
  request.secure = true;
  auto response = files.respond(request);
  EXPECT_EQ(response.status, Status::not_found);
  EXPECT_EQ(response.headers.get("Strict-Transport-Security"), "max-age=31536000");
  request.path = "/";
  EXPECT_EQ(files.respond(request).headers.get("Cache-Control"), "no-cache");
}

TEST(HttpStaticFilesHelpers, ParseRanges) {
  auto range = parse_range("bytes=0-0", 1);
  EXPECT_EQ(range.kind, ByteRange::Kind::satisfiable);
  EXPECT_EQ(range.last, 0u);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, ByteRange::Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-1", 0).kind, ByteRange::Kind::unsatisfiable);
  EXPECT_EQ(parse_range("bytes=a-b", 10).kind, ByteRange::Kind::ignore);
  EXPECT_EQ(parse_range("bytes=99999999999999999999-", 10).kind, ByteRange::Kind::ignore);
}

} // namespace
} // namespace morgana::http
