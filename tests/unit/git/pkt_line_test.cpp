// pkt-line framing against git's own bytes (git_captures.h).

#include "morgana/git/pkt_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "git_captures.h"

namespace morgana::git {
namespace {

struct Decoded {
  std::vector<std::string> lines; // data lines' text, "<flush>", "<delim>", "<end>"
  Result<void> outcome;
};

// Feeds `bytes` `chunk` bytes at a time, decoding every line as soon as it is whole.
Decoded decode(std::string_view bytes, std::size_t chunk) {
  auto decoder = MUST(PktLineDecoder::create());
  Decoded decoded;
  for (std::size_t offset = 0; offset < bytes.size(); offset += chunk) {
    if (auto appended = decoder.append(as_bytes(bytes.substr(offset, chunk))); !appended) {
      decoded.outcome = std::unexpected(appended.error());
      return decoded;
    }
    for (;;) {
      auto line = decoder.next();
      if (!line) {
        decoded.outcome = std::unexpected(line.error());
        decoded.lines.push_back("<error " + std::string(decoder.error_text()) + ">");
        return decoded;
      }
      if (!*line) break;
      switch ((*line)->kind) {
      case PktKind::data: decoded.lines.emplace_back((*line)->text()); break;
      case PktKind::flush: decoded.lines.emplace_back("<flush>"); break;
      case PktKind::delim: decoded.lines.emplace_back("<delim>"); break;
      case PktKind::response_end: decoded.lines.emplace_back("<end>"); break;
      }
    }
  }
  return decoded;
}

TEST(PktLine, DecodesTheV2AdvertisementInAnyChunking) {
  const std::vector<std::string> expected{
      "version 2",     "agent=git/2.39.5",   "ls-refs=unborn", "fetch=shallow wait-for-done",
      "server-option", "object-format=sha1", "object-info",    "<flush>"};
  for (std::size_t chunk : {1, 3, 4, 5, 64, 4096}) {
    auto decoded = decode(captured::v2_advertisement, chunk);
    ASSERT_TRUE(decoded.outcome) << chunk;
    EXPECT_EQ(decoded.lines, expected) << chunk;
  }
}

TEST(PktLine, SpecialLengths) {
  auto decoded = decode("0000000100020006a\n0004", 2);
  ASSERT_TRUE(decoded.outcome);
  EXPECT_EQ(decoded.lines, (std::vector<std::string>{"<flush>", "<delim>", "<end>", "a", ""}));
}

TEST(PktLine, UpperCaseHexIsAccepted) {
  auto decoded = decode("000Aabcdef", 10);
  ASSERT_TRUE(decoded.outcome);
  EXPECT_EQ(decoded.lines, (std::vector<std::string>{"abcdef"}));
}

TEST(PktLine, BadLengthsAreMalformed) {
  EXPECT_EQ(decode("0003", 4).outcome.error(), Errc::malformed);
  EXPECT_EQ(decode("zz12abcd", 8).outcome.error(), Errc::malformed);
  EXPECT_EQ(decode("fff1", 4).outcome.error(), Errc::malformed); // 65521 > 65520
}

TEST(PktLine, LongestLineDecodes) {
  std::string line = "fff0" + std::string(max_pkt_payload, 'x');
  auto decoded = decode(line, 1000);
  ASSERT_TRUE(decoded.outcome);
  ASSERT_EQ(decoded.lines.size(), 1u);
  EXPECT_EQ(decoded.lines[0].size(), max_pkt_payload);
}

TEST(PktLine, ErrLineKeepsTheServersText) {
  auto decoded = decode(captured::v2_not_found_advertisement, 7);
  ASSERT_FALSE(decoded.outcome);
  EXPECT_EQ(decoded.outcome.error(), Errc::io_error);
  EXPECT_EQ(decoded.lines.back(), "<error access denied or repository not exported: /nope.git>");
}

TEST(PktLine, ErrLineAfterOthers) {
  auto decoded = decode(captured::v2_fetch_not_our_ref_response, 5);
  ASSERT_FALSE(decoded.outcome);
  EXPECT_EQ(decoded.lines.back(), "<error upload-pack: not our ref 2222222222222222222222222222222222222222>");
}

TEST(PktLine, AppendBeyondCapacityIsNoSpace) {
  auto decoder = MUST(PktLineDecoder::create());
  std::string big(PktLineDecoder::capacity, '0');
  ASSERT_TRUE(decoder.append(as_bytes(big)));
  EXPECT_EQ(decoder.free_space(), 0u);
  EXPECT_EQ(decoder.append(as_bytes("0")).error(), Errc::no_space);
  // Decoding frees room: every "0000" is a flush.
  ASSERT_TRUE(MUST(decoder.next()).has_value());
  EXPECT_EQ(decoder.free_space(), 4u);
  EXPECT_TRUE(decoder.append(as_bytes("0000")));
}

TEST(PktLine, WriterFramesLines) {
  PktLineWriter writer;
  writer.line("command=ls-refs\n");
  writer.delim();
  writer.line("peel\n");
  writer.flush();
  EXPECT_EQ(MUST(writer.finish()), "0014command=ls-refs\n00010009peel\n0000");
}

TEST(PktLine, WriterRefusesTooLongPayloads) {
  PktLineWriter writer;
  writer.line(std::string(max_pkt_payload + 1, 'x'));
  writer.flush();
  EXPECT_EQ(writer.finish().error(), Errc::invalid_argument);
  PktLineWriter longest;
  longest.line(std::string(max_pkt_payload, 'x'));
  EXPECT_EQ(MUST(longest.finish()).substr(0, 4), "fff0");
}

TEST(PktLine, ObjectIds) {
  EXPECT_TRUE(is_object_id(captured::heads_main_id));
  EXPECT_FALSE(is_object_id("6DFD0C5FCB535F24523AB71F4D1DEBB3E98BE862"));
  EXPECT_FALSE(is_object_id("6dfd0c5"));
  EXPECT_FALSE(is_object_id(std::string(40, 'g')));
}

} // namespace
} // namespace morgana::git
