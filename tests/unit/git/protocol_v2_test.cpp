// Protocol v2: requests byte for byte, and git's own responses parsed.

#include "morgana/git/protocol_v2.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "git_captures.h"
#include "git_test_support.h"

namespace morgana::git {
namespace {

Capabilities advertised(std::string_view bytes) {
  Capabilities capabilities;
  bool first = true;
  MUST(test::for_each_line(bytes, [&](const PktLine& line) -> Result<bool> {
    if (line.kind == PktKind::flush) return true;
    if (first) {
      first = false;
      EXPECT_EQ(line.text(), "version 2");
      return false;
    }
    TRY(add_v2_capability_line(capabilities, line));
    return false;
  }));
  return capabilities;
}

TEST(ProtocolV2, CapabilityAdvertisement) {
  auto capabilities = advertised(captured::v2_advertisement);
  EXPECT_TRUE(capabilities.has("ls-refs"));
  EXPECT_TRUE(capabilities.has_feature("ls-refs", "unborn"));
  EXPECT_TRUE(capabilities.has_feature("fetch", "shallow"));
  EXPECT_TRUE(capabilities.has_feature("fetch", "wait-for-done"));
  EXPECT_FALSE(capabilities.has_feature("fetch", "filter"));
  EXPECT_EQ(capabilities.value("agent"), "git/2.39.5");
  EXPECT_EQ(capabilities.value("server-option"), "");
  EXPECT_FALSE(capabilities.value("packfile-uris"));
  EXPECT_TRUE(capabilities.check_object_format());
}

TEST(ProtocolV2, Sha256IsRefusedClearly) {
  auto capabilities = advertised(captured::v2_sha256_advertisement);
  auto format = capabilities.check_object_format();
  ASSERT_FALSE(format);
  EXPECT_EQ(format.error(), Errc::unsupported);
  EXPECT_NE(format.error().context.find("SHA-256"), std::string_view::npos);
}

TEST(ProtocolV2, LsRefsRequest) {
  auto capabilities = advertised(captured::v2_advertisement);
  auto request = MUST(build_ls_refs({.ref_prefixes = {"HEAD", "refs/heads/"}}, capabilities, "morgana/0.1"));
  EXPECT_EQ(request, "0014command=ls-refs\n"
                     "0016agent=morgana/0.1\n"
                     "0017object-format=sha1\n"
                     "0001"
                     "000csymrefs\n"
                     "0009peel\n"
                     "0014ref-prefix HEAD\n"
                     "001bref-prefix refs/heads/\n"
                     "0000");
  EXPECT_EQ(build_ls_refs({.ref_prefixes = {"refs/ heads"}}, capabilities, "").error(), Errc::invalid_argument);
}

TEST(ProtocolV2, LsRefsResponse) {
  std::vector<Ref> refs;
  MUST(test::for_each_line(captured::v2_ls_refs_response, [&](const PktLine& line) -> Result<bool> {
    if (line.kind == PktKind::flush) return true;
    refs.push_back(TRY(parse_ls_refs_line(line.text())));
    return false;
  }));
  ASSERT_EQ(refs.size(), 5u);
  EXPECT_EQ(refs[0],
            (Ref{.name = "HEAD", .id = std::string(captured::heads_main_id), .symref_target = "refs/heads/main"}));
  EXPECT_EQ(refs[1], (Ref{.name = "refs/heads/draft", .id = std::string(captured::heads_draft_id)}));
  EXPECT_EQ(refs[4], (Ref{.name = "refs/tags/v1",
                          .id = std::string(captured::tags_v1_id),
                          .peeled = std::string(captured::second_id)}));
}

TEST(ProtocolV2, UnbornHead) {
  std::vector<Ref> refs;
  MUST(test::for_each_line(captured::v2_empty_ls_refs_response, [&](const PktLine& line) -> Result<bool> {
    if (line.kind == PktKind::flush) return true;
    refs.push_back(TRY(parse_ls_refs_line(line.text())));
    return false;
  }));
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0], (Ref{.name = "HEAD", .symref_target = "refs/heads/master"}));
}

TEST(ProtocolV2, MalformedLsRefsLines) {
  for (auto line : {"", "HEAD", "1234 HEAD", "unborn HEAD", "6dfd0c5fcb535f24523ab71f4d1debb3e98be862 ",
                    "6dfd0c5fcb535f24523ab71f4d1debb3e98be862 refs/tags/v1 peeled:xyz"}) {
    EXPECT_EQ(parse_ls_refs_line(line).error(), Errc::malformed) << line;
  }
  // Attributes this client does not know are skipped.
  EXPECT_TRUE(parse_ls_refs_line("6dfd0c5fcb535f24523ab71f4d1debb3e98be862 HEAD future:1"));
}

TEST(ProtocolV2, FetchRequest) {
  auto capabilities = advertised(captured::v2_advertisement);
  FetchRequest request{.wants = {std::string(captured::heads_main_id)},
                       .haves = {std::string(captured::second_id)},
                       .depth = 2,
                       .thin_pack = true};
  EXPECT_EQ(MUST(build_fetch_v2(request, capabilities, "")), "0012command=fetch\n"
                                                             "0017object-format=sha1\n"
                                                             "0001"
                                                             "000ethin-pack\n"
                                                             "0010no-progress\n"
                                                             "0010include-tag\n"
                                                             "000eofs-delta\n"
                                                             "000ddeepen 2\n"
                                                             "0032want 6dfd0c5fcb535f24523ab71f4d1debb3e98be862\n"
                                                             "0032have c73a8fbcdff770d4dc53309353e3b2e8d8320797\n"
                                                             "0009done\n"
                                                             "0000");
}

TEST(ProtocolV2, FetchRequestBoundsHavesAndChecksIds) {
  auto capabilities = advertised(captured::v2_advertisement);
  FetchRequest request{.wants = {std::string(captured::heads_main_id)}};
  request.haves.assign(max_haves + 10, std::string(captured::second_id));
  auto text = MUST(build_fetch_v2(request, capabilities, ""));
  std::size_t haves = 0;
  for (auto at = text.find("have "); at != std::string::npos; at = text.find("have ", at + 1)) ++haves;
  EXPECT_EQ(haves, max_haves);
  EXPECT_EQ(build_fetch_v2({.wants = {"HEAD"}}, capabilities, "").error(), Errc::invalid_argument);
  EXPECT_EQ(build_fetch_v2({}, capabilities, "").error(), Errc::invalid_argument);
  Capabilities shallowless;
  MUST(shallowless.add("fetch"));
  EXPECT_EQ(build_fetch_v2({.wants = {std::string(captured::heads_main_id)}, .depth = 1}, shallowless, "").error(),
            Errc::unsupported);
}

struct Fetched {
  std::string pack;
  FetchResult result;
  Result<void> outcome;
  std::string error_text;
};

Fetched parse_fetch(std::string_view bytes, std::size_t chunk = 1000) {
  Fetched fetched;
  FetchResponseV2 response([&](Bytes data) -> Result<void> {
    fetched.pack.append(as_string(data));
    return {};
  });
  bool complete = false;
  fetched.outcome = test::for_each_line(
      bytes,
      [&](const PktLine& line) -> Result<bool> {
        complete = TRY(response.on_line(line));
        return complete;
      },
      chunk);
  if (fetched.outcome && !complete) fetched.outcome = fail(Errc::truncated, "response incomplete");
  fetched.result = response.result();
  fetched.error_text = response.error_text();
  return fetched;
}

TEST(ProtocolV2, FullFetchResponse) {
  for (std::size_t chunk : {1, 13, 1000}) {
    auto fetched = parse_fetch(captured::v2_fetch_full_response, chunk);
    ASSERT_TRUE(fetched.outcome) << chunk;
    EXPECT_EQ(test::pack_object_count(fetched.pack), 16) << chunk;
    EXPECT_EQ(fetched.result.pack_bytes, fetched.pack.size());
    EXPECT_TRUE(fetched.result.common.empty());
  }
}

TEST(ProtocolV2, AcknowledgmentsThenPack) {
  auto fetched = parse_fetch(captured::v2_fetch_acknowledgments_response);
  ASSERT_TRUE(fetched.outcome);
  EXPECT_EQ(fetched.result.common, std::vector<std::string>{std::string(captured::second_id)});
  EXPECT_EQ(test::pack_object_count(fetched.pack), 4);
}

TEST(ProtocolV2, ShallowInfo) {
  auto fetched = parse_fetch(captured::v2_fetch_deepen_response);
  ASSERT_TRUE(fetched.outcome);
  EXPECT_EQ(fetched.result.shallow, std::vector<std::string>{std::string(captured::heads_main_id)});
  EXPECT_EQ(test::pack_object_count(fetched.pack), 6);
}

TEST(ProtocolV2, ErrInsteadOfAPack) {
  auto fetched = parse_fetch(captured::v2_fetch_not_our_ref_response);
  ASSERT_FALSE(fetched.outcome);
  EXPECT_EQ(fetched.outcome.error(), Errc::io_error);
}

TEST(ProtocolV2, FatalSideBandError) {
  auto fetched = parse_fetch("000dpackfile\n0009\1PACK0018\3upload-pack: fatal\n0000");
  ASSERT_FALSE(fetched.outcome);
  EXPECT_EQ(fetched.outcome.error(), Errc::io_error);
  EXPECT_EQ(fetched.error_text, "upload-pack: fatal");
  EXPECT_EQ(fetched.pack, "PACK");
}

TEST(ProtocolV2, ResponsesOutOfOrder) {
  EXPECT_EQ(parse_fetch("0000").outcome.error(), Errc::malformed);               // no packfile
  EXPECT_EQ(parse_fetch("000bunknown\n").outcome.error(), Errc::malformed);      // unknown section
  EXPECT_EQ(parse_fetch("0001").outcome.error(), Errc::malformed);               // empty section
  EXPECT_EQ(parse_fetch("000dpackfile\n0001").outcome.error(), Errc::malformed); // delim in the pack
  EXPECT_EQ(parse_fetch("000dpackfile\n0002").outcome.error(), Errc::malformed); // response-end
  EXPECT_EQ(parse_fetch("0011shallow-info\n0009boom\n").outcome.error(), Errc::malformed);
  // Acknowledgments without "ready" and then a flush: the server wants another round.
  EXPECT_EQ(parse_fetch("0014acknowledgments\n0008NAK\n0000").outcome.error(), Errc::unsupported);
}

} // namespace
} // namespace morgana::git
