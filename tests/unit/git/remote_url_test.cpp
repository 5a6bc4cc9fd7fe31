// Remote URLs: git:// and http(s):// accepted, ssh refused with a message.

#include "morgana/git/remote_url.h"

#include <gtest/gtest.h>

namespace morgana::git {
namespace {

TEST(RemoteUrl, GitScheme) {
  auto url = MUST(RemoteUrl::parse("git://Example.ORG/blog.git"));
  EXPECT_EQ(url.scheme, RemoteScheme::git);
  EXPECT_EQ(url.host, "example.org");
  EXPECT_EQ(url.port, 9418);
  EXPECT_EQ(url.path, "/blog.git");
  EXPECT_EQ(url.to_string(), "git://example.org/blog.git");
  auto local = MUST(RemoteUrl::parse("git://127.0.0.1:29418/a/repo.git"));
  EXPECT_EQ(local.port, 29418);
  EXPECT_EQ(local.path, "/a/repo.git");
  EXPECT_EQ(local.to_string(), "git://127.0.0.1:29418/a/repo.git");
}

TEST(RemoteUrl, HttpSchemes) {
  auto url = MUST(RemoteUrl::parse("https://user:secret@git.example.org:8443/team/blog.git"));
  EXPECT_EQ(url.scheme, RemoteScheme::https);
  EXPECT_EQ(url.user, "user");
  EXPECT_EQ(url.password, "secret");
  EXPECT_EQ(url.port, 8443);
  EXPECT_EQ(url.to_string(), "https://git.example.org:8443/team/blog.git"); // no password in logs
  auto plain = MUST(RemoteUrl::parse("HTTP://example.org/blog"));
  EXPECT_EQ(plain.scheme, RemoteScheme::http);
  EXPECT_EQ(plain.port, 80);
  EXPECT_TRUE(plain.user.empty());
  EXPECT_EQ(MUST(RemoteUrl::parse("https://token@example.org/x.git")).user, "token");
}

TEST(RemoteUrl, SshIsRefusedWithAMessage) {
  for (auto text : {"ssh://git@example.org/blog.git", "git@example.org:blog.git", "git+ssh://example.org/x",
                    "file:///srv/blog.git", "/srv/blog.git"}) {
    auto url = RemoteUrl::parse(text);
    ASSERT_FALSE(url) << text;
    EXPECT_EQ(url.error(), Errc::unsupported) << text;
    EXPECT_NE(url.error().context.find("only git:// and http(s)://"), std::string_view::npos) << text;
  }
}

TEST(RemoteUrl, MalformedUrls) {
  for (auto text : {"git://", "git:///x.git", "git://host", "git://host/", "git://host:0/x", "git://host:65536/x",
                    "git://host:port/x", "git://user@host/x", "git://host/a b", "http://host/x?y=1",
                    "http://host/x#top", "http://:pw@host/x", "git://ho$t/x"}) {
    auto url = RemoteUrl::parse(text);
    ASSERT_FALSE(url) << text;
    EXPECT_EQ(url.error(), Errc::invalid_argument) << text;
  }
  EXPECT_EQ(RemoteUrl::parse("git://[::1]/x").error(), Errc::unsupported);
}

} // namespace
} // namespace morgana::git
