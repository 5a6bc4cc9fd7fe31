// Protocol v0: the ref advertisement, the upload-request, ACK/NAK and the
// pack, against git's own bytes.

#include "morgana/git/protocol_v0.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "git_captures.h"
#include "git_test_support.h"

namespace morgana::git {
namespace {

RefAdvertisement advertisement(std::string_view bytes) {
  RefAdvertisement parsed;
  bool after_service_line = false;
  MUST(test::for_each_line(bytes, [&](const PktLine& line) -> Result<bool> {
    if (line.kind == PktKind::flush && !after_service_line) return true;
    after_service_line = line.text() == "# service=git-upload-pack";
    if (after_service_line || line.kind == PktKind::flush) return false;
    TRY(parsed.add_line(line.text()));
    return false;
  }));
  parsed.finish();
  return parsed;
}

TEST(ProtocolV0, RefAdvertisement) {
  auto parsed = advertisement(captured::v0_advertisement);
  const auto& refs = parsed.refs();
  ASSERT_EQ(refs.size(), 5u);
  EXPECT_EQ(refs[0],
            (Ref{.name = "HEAD", .id = std::string(captured::heads_main_id), .symref_target = "refs/heads/main"}));
  EXPECT_EQ(refs[2], (Ref{.name = "refs/heads/main", .id = std::string(captured::heads_main_id)}));
  EXPECT_EQ(refs[4], (Ref{.name = "refs/tags/v1",
                          .id = std::string(captured::tags_v1_id),
                          .peeled = std::string(captured::second_id)}));
  const auto& capabilities = parsed.capabilities();
  for (auto name : {"multi_ack_detailed", "side-band-64k", "ofs-delta", "thin-pack", "shallow", "include-tag"})
    EXPECT_TRUE(capabilities.has(name)) << name;
  EXPECT_EQ(capabilities.value("symref"), "HEAD:refs/heads/main");
  EXPECT_TRUE(capabilities.check_object_format());
  EXPECT_TRUE(parsed.shallow().empty());
}

TEST(ProtocolV0, SmartHttpAdvertisementIsTheSame) {
  auto http = advertisement(captured::http_v0_info_refs_body);
  EXPECT_EQ(http.refs(), advertisement(captured::v0_advertisement).refs());
  EXPECT_TRUE(http.capabilities().has("no-done"));
}

TEST(ProtocolV0, EmptyRepositories) {
  EXPECT_TRUE(advertisement(captured::v0_empty_advertisement).refs().empty());
  // Older servers name a capabilities^{} pseudo-ref.
  RefAdvertisement parsed;
  ASSERT_TRUE(parsed.add_line(std::string("0000000000000000000000000000000000000000 capabilities^{}") + '\0' +
                              "multi_ack side-band-64k"));
  EXPECT_TRUE(parsed.refs().empty());
  EXPECT_TRUE(parsed.capabilities().has("side-band-64k"));
}

TEST(ProtocolV0, MalformedAdvertisements) {
  RefAdvertisement no_capabilities;
  EXPECT_EQ(no_capabilities.add_line("6dfd0c5fcb535f24523ab71f4d1debb3e98be862 HEAD").error(), Errc::malformed);
  RefAdvertisement orphan_peel;
  ASSERT_TRUE(orphan_peel.add_line(std::string("6dfd0c5fcb535f24523ab71f4d1debb3e98be862 HEAD") + '\0'));
  EXPECT_EQ(orphan_peel.add_line("6dfd0c5fcb535f24523ab71f4d1debb3e98be862 refs/tags/x^{}").error(), Errc::malformed);
  EXPECT_EQ(orphan_peel.add_line("6dfd0c5fcb535f24523ab71f4d1debb3e98be862").error(), Errc::malformed);
  EXPECT_EQ(orphan_peel.add_line("6dfd0c5fcb535f24523ab71f4d1debb3e98be86x refs/x").error(), Errc::malformed);
  EXPECT_TRUE(orphan_peel.add_line("shallow 6dfd0c5fcb535f24523ab71f4d1debb3e98be862"));
  EXPECT_EQ(orphan_peel.shallow().size(), 1u);
}

TEST(ProtocolV0, UploadRequest) {
  auto parsed = advertisement(captured::v0_advertisement);
  FetchRequest request{.wants = {std::string(captured::heads_main_id), std::string(captured::heads_draft_id)},
                       .haves = {std::string(captured::second_id)},
                       .depth = 1,
                       .thin_pack = true};
  EXPECT_EQ(MUST(build_upload_request(request, parsed.capabilities(), "morgana/0.1")),
            "00acwant 6dfd0c5fcb535f24523ab71f4d1debb3e98be862 multi_ack_detailed side-band-64k ofs-delta thin-pack "
            "include-tag no-progress shallow agent=morgana/0.1 object-format=sha1\n"
            "0032want 9a8c4efffa55bdd4c201f75c3288f06f844d7c28\n"
            "000ddeepen 1\n"
            "0000"
            "0032have c73a8fbcdff770d4dc53309353e3b2e8d8320797\n"
            "0009done\n");
  EXPECT_EQ(chosen_side_band(parsed.capabilities()), SideBand::side_band_64k);
}

TEST(ProtocolV0, UploadRequestAsksOnlyForWhatIsOffered) {
  auto offered = MUST(Capabilities::parse_v0("side-band ofs-delta"));
  FetchRequest request{.wants = {std::string(captured::heads_main_id)}, .progress = true};
  EXPECT_EQ(MUST(build_upload_request(request, offered, "morgana/0.1")),
            "0046want 6dfd0c5fcb535f24523ab71f4d1debb3e98be862 side-band ofs-delta\n0000"
            "0009done\n");
  EXPECT_EQ(chosen_side_band(offered), SideBand::side_band);
  request.depth = 3;
  EXPECT_EQ(build_upload_request(request, offered, "").error(), Errc::unsupported);
}

struct Fetched {
  std::string pack;
  FetchResult result;
  Result<void> outcome;
};

Fetched parse_fetch(std::string_view bytes, SideBand side_band, bool shallow, std::size_t chunk = 1000) {
  Fetched fetched;
  FetchResponseV0 response(
      [&](Bytes data) -> Result<void> {
        fetched.pack.append(as_string(data));
        return {};
      },
      side_band, shallow);
  auto decoder = MUST(PktLineDecoder::create());
  bool complete = false;
  fetched.outcome = [&]() -> Result<void> {
    for (std::size_t offset = 0; offset < bytes.size() && !complete; offset += chunk) {
      TRY(decoder.append(as_bytes(bytes.substr(offset, chunk))));
      while (!response.raw() && !complete) {
        auto line = TRY(decoder.next());
        if (!line) break;
        complete = TRY(response.on_line(*line));
      }
      if (response.raw()) {
        TRY(response.on_raw(decoder.buffered()));
        decoder.discard_buffered();
      }
    }
    if (!complete) TRY(response.on_end());
    return {};
  }();
  fetched.result = response.result();
  return fetched;
}

TEST(ProtocolV0, FullFetchWithProgress) {
  for (std::size_t chunk : {1, 100, 1000}) {
    auto fetched = parse_fetch(captured::v0_fetch_full_response, SideBand::side_band_64k, false, chunk);
    ASSERT_TRUE(fetched.outcome) << chunk;
    EXPECT_EQ(test::pack_object_count(fetched.pack), 16);
    EXPECT_EQ(fetched.result.pack_bytes, fetched.pack.size());
  }
}

TEST(ProtocolV0, MultiAckDetailed) {
  auto fetched = parse_fetch(captured::v0_fetch_have_response, SideBand::side_band_64k, false);
  ASSERT_TRUE(fetched.outcome);
  EXPECT_EQ(fetched.result.common, std::vector<std::string>{std::string(captured::second_id)});
  EXPECT_EQ(test::pack_object_count(fetched.pack), 4);
}

TEST(ProtocolV0, ShallowUpdate) {
  auto fetched = parse_fetch(captured::v0_fetch_deepen_response, SideBand::side_band_64k, true);
  ASSERT_TRUE(fetched.outcome);
  EXPECT_EQ(fetched.result.shallow, std::vector<std::string>{std::string(captured::heads_main_id)});
  EXPECT_EQ(test::pack_object_count(fetched.pack), 6);
}

TEST(ProtocolV0, PackWithoutSideBand) {
  for (std::size_t chunk : {1, 7, 1000}) {
    auto fetched = parse_fetch(captured::v0_fetch_no_side_band_response, SideBand::none, false, chunk);
    ASSERT_TRUE(fetched.outcome) << chunk;
    EXPECT_EQ(test::pack_object_count(fetched.pack), 11) << chunk; // main alone
  }
}

TEST(ProtocolV0, MalformedResponses) {
  EXPECT_EQ(parse_fetch("0000", SideBand::side_band_64k, false).outcome.error(), Errc::malformed);
  EXPECT_EQ(parse_fetch("000aHELLO\n", SideBand::side_band_64k, false).outcome.error(), Errc::malformed);
  EXPECT_EQ(parse_fetch("0031ACK c73a8fbcdff770d4dc53309353e3b2e8d8320797 maybe\n", SideBand::side_band_64k, false)
                .outcome.error(),
            Errc::malformed);
  // The connection ends before the pack's flush.
  EXPECT_EQ(parse_fetch("0008NAK\n0009\1PACK", SideBand::side_band_64k, false).outcome.error(), Errc::truncated);
  EXPECT_EQ(parse_fetch("0008NAK\n", SideBand::side_band_64k, true).outcome.error(), Errc::malformed);
}

} // namespace
} // namespace morgana::git
