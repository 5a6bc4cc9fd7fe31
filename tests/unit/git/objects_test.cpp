// Commit, tree, tag and signature parsers on objects git wrote, and on
// variations git's fsck refuses.

#include <gtest/gtest.h>
#include <string>

#include "morgana/git/commit.h"
#include "morgana/git/object.h"
#include "morgana/git/signature.h"
#include "morgana/git/tag.h"
#include "morgana/git/tree.h"

#include "fixtures.h"

namespace morgana::git {
namespace {

ObjectId id(std::string_view hex) { return MUST(ObjectId::parse_hex(hex)); }

TEST(GitSignature, ParsesNameEmailTimeAndZone) {
  auto signature = MUST(Signature::parse("Charles Babbage <charles@example.org> 1700000100 -0230"));
  EXPECT_EQ(signature.name, "Charles Babbage");
  EXPECT_EQ(signature.email, "charles@example.org");
  EXPECT_EQ(signature.time, 1700000100);
  EXPECT_EQ(signature.offset_minutes, -150);
  EXPECT_EQ(signature.offset, "-0230");
  EXPECT_EQ(MUST(Signature::parse("<a@b> 0 +0000")).name, "");
}

TEST(GitSignature, RejectsMalformed) {
  for (auto bad : {"Ada ada@example.org 1 +0000", "Ada <ada> +0000", "Ada <ada> 1 0100", "Ada <ada> 1 +01",
                   "Ada <ada> x1 +0100", "Ada <a<da> 1 +0100", "Ada<ada> 1 +0100", "Ada <ada> 1 +0160"}) {
    EXPECT_EQ(Signature::parse(bad).error(), Errc::malformed) << bad;
  }
}

TEST(GitCommit, ParsesARealCommit) {
  EXPECT_TRUE(verify(id(fixtures::head_commit_id), ObjectType::commit, fixtures::head_commit));
  auto commit = MUST(Commit::parse(fixtures::head_commit));
  EXPECT_EQ(commit.tree, id(fixtures::root_tree_id));
  ASSERT_EQ(commit.parents.size(), 1u);
  EXPECT_EQ(commit.parents[0], id(fixtures::merge_commit_id));
  EXPECT_EQ(commit.author.name, "Ada Lovelace");
  EXPECT_EQ(commit.author.time, 1700000000);
  EXPECT_EQ(commit.author.offset_minutes, 60);
  EXPECT_EQ(commit.committer.email, "charles@example.org");
  EXPECT_TRUE(commit.extra_headers.empty());
  EXPECT_EQ(commit.message, "Third\n");
}

TEST(GitCommit, ParsesAMerge) {
  auto commit = MUST(Commit::parse(fixtures::merge_commit));
  EXPECT_EQ(commit.parents.size(), 2u);
  EXPECT_EQ(commit.message, "Merge side\n");
}

TEST(GitCommit, KeepsExtraHeaders) {
  EXPECT_TRUE(verify(id(fixtures::signed_commit_id), ObjectType::commit, fixtures::signed_commit));
  auto commit = MUST(Commit::parse(fixtures::signed_commit));
  ASSERT_EQ(commit.extra_headers.size(), 1u);
  EXPECT_EQ(commit.extra_headers[0].key, "gpgsig");
  EXPECT_TRUE(commit.extra_headers[0].value.starts_with("-----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"));
  EXPECT_TRUE(commit.extra_headers[0].value.ends_with("-----END PGP SIGNATURE-----"));
  EXPECT_EQ(commit.message, "Third\n");
}

TEST(GitCommit, RejectsMalformed) {
  std::string text(as_string(fixtures::head_commit));
  auto parse = [](const std::string& s) { return Commit::parse(as_bytes(s)); };
  auto replaced = [&](std::string_view from, std::string_view to) {
    auto copy = text;
    copy.replace(copy.find(from), from.size(), to);
    return copy;
  };
  EXPECT_TRUE(parse(text));
  EXPECT_EQ(parse(replaced("tree ", "tre ")).error(), Errc::malformed);
  EXPECT_EQ(parse(replaced("tree 5b8e", "tree 5b8")).error(), Errc::malformed);
  EXPECT_EQ(parse(replaced("author", "writer")).error(), Errc::malformed);
  EXPECT_EQ(parse(replaced("committer ", "committer\n")).error(), Errc::malformed);
  EXPECT_EQ(parse(replaced("\n\nThird", "\ntree 5b8e592f38248083f64b267a3f124c06998b813f\n\nThird")).error(),
            Errc::malformed);
  EXPECT_EQ(parse(text.substr(0, text.find("\n\n"))).error(), Errc::malformed); // no newline after committer
  EXPECT_EQ(parse("").error(), Errc::malformed);
}

TEST(GitTree, ParsesARealTree) {
  EXPECT_TRUE(verify(id(fixtures::root_tree_id), ObjectType::tree, fixtures::root_tree));
  auto tree = MUST(Tree::parse(fixtures::root_tree));
  ASSERT_EQ(tree.entries.size(), 5u);
  // git's order: "docs" (a directory, as "docs/") after "docs.txt".
  EXPECT_EQ(tree.entries[0].name, "README.md");
  EXPECT_EQ(tree.entries[1].name, "docs.txt");
  EXPECT_EQ(tree.entries[2].name, "docs");
  EXPECT_EQ(tree.entries[2].mode, TreeMode::directory);
  EXPECT_EQ(tree.entries[2].id, id(fixtures::docs_tree_id));
  EXPECT_EQ(tree.entries[3].name, "link");
  EXPECT_EQ(tree.entries[3].mode, TreeMode::symlink);
  EXPECT_EQ(tree.entries[4].name, "run.sh");
  EXPECT_EQ(tree.entries[4].mode, TreeMode::executable);
  EXPECT_EQ(tree.entries[0].id, id(fixtures::readme_id));
}

std::string entry(std::string_view mode, std::string_view name, char fill = 'x') {
  return std::string(mode) + " " + std::string(name) + '\0' + std::string(20, fill);
}

TEST(GitTree, RejectsWhatFsckRejects) {
  auto parse = [](const std::string& s) { return Tree::parse(as_bytes(s)); };
  EXPECT_TRUE(parse(entry("100644", "a") + entry("40000", "b") + entry("160000", "c")));
  EXPECT_TRUE(parse(""));
  EXPECT_EQ(parse(entry("100664", "a")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("040000", "a")).error(), Errc::malformed); // zero-padded
  EXPECT_EQ(parse(entry("100644", "")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "a/b")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "..")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "b") + entry("100644", "a")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "a") + entry("100644", "a")).error(), Errc::malformed);
  // "a" as a directory sorts as "a/", after "a.c".
  EXPECT_TRUE(parse(entry("100644", "a.c") + entry("40000", "a")));
  EXPECT_EQ(parse(entry("40000", "a") + entry("100644", "a.c")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "a") + entry("100644", "a.c") + entry("40000", "a")).error(), Errc::malformed);
  EXPECT_EQ(parse(entry("100644", "a").substr(0, 20)).error(), Errc::truncated);
}

TEST(GitTree, CompareNamesAsGitDoes) {
  EXPECT_LT(compare_tree_names("a.c", false, "a", true), 0);
  EXPECT_GT(compare_tree_names("a.c", false, "a", false), 0);
  EXPECT_EQ(compare_tree_names("a", true, "a", true), 0);
}

TEST(GitTag, ParsesARealTag) {
  EXPECT_TRUE(verify(id(fixtures::tag_v1_id), ObjectType::tag, fixtures::tag_v1));
  auto tag = MUST(Tag::parse(fixtures::tag_v1));
  EXPECT_EQ(tag.object, id(fixtures::head_commit_id));
  EXPECT_EQ(tag.type, ObjectType::commit);
  EXPECT_EQ(tag.name, "v1.0");
  ASSERT_TRUE(tag.tagger);
  EXPECT_EQ(tag.tagger->name, "Charles Babbage");
  EXPECT_EQ(tag.message, "Release 1.0\n");
}

TEST(GitTag, RejectsMalformed) {
  std::string text(as_string(fixtures::tag_v1));
  auto replaced = [&](std::string_view from, std::string_view to) {
    auto copy = text;
    copy.replace(copy.find(from), from.size(), to);
    return Tag::parse(as_bytes(copy));
  };
  EXPECT_EQ(replaced("type commit", "type branch").error(), Errc::malformed);
  EXPECT_EQ(replaced("tag v1.0", "tag ").error(), Errc::malformed);
  EXPECT_EQ(replaced("object ", "objet ").error(), Errc::malformed);
  EXPECT_EQ(replaced("tagger Charles", "tagger Charles <").error(), Errc::malformed);
}

} // namespace
} // namespace morgana::git
