#include "morgana/http/message_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "parser_driver.h"

namespace morgana::http {
namespace {

using test::bytewise;
using test::transcript;
using test::whole;
using Kind = MessageParser::Kind;

// Whole, byte by byte, and in random pieces: the same transcript.
std::string every_split(std::string_view input, Kind kind = Kind::request, ParserLimits limits = {}) {
  auto expected = whole(input, kind, limits);
  EXPECT_EQ(bytewise(input, kind, limits), expected) << input;
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    auto random_split = transcript(input, [&](std::size_t) { return std::size_t{1} + random() % 17; }, kind, limits);
    EXPECT_EQ(random_split, expected) << input;
  }
  return expected;
}

std::string status_of(std::string_view input, ParserLimits limits = {}) {
  auto result = every_split(input, Kind::request, limits);
  auto at = result.rfind("ERROR ");
  return at == std::string::npos ? result : result.substr(at + 6);
}

TEST(HttpMessageParser, ParsesASimpleGet) {
  EXPECT_EQ(every_split("GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
            "GET /index.html?x=1 HTTP/1.1 host=example.com\nHost: example.com\nAccept: */*\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, TrimsFieldValuesAndKeepsEmptyOnes) {
  EXPECT_EQ(every_split("GET / HTTP/1.1\r\nHost:example.com \t\r\nX-Empty:\r\nX-Inner:  a  b \r\n\r\n"),
            "GET / HTTP/1.1 host=example.com\nHost: example.com\nX-Empty: \nX-Inner: a  b\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, IgnoresEmptyLinesBeforeTheRequestLine) {
  EXPECT_EQ(every_split("\r\n\r\nGET / HTTP/1.0\r\n\r\n"), "GET / HTTP/1.0 host=\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, ReadsAContentLengthBody) {
  EXPECT_EQ(every_split("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"),
            "POST /f HTTP/1.1 host=a\nHost: a\nContent-Length: 11\nBODY[hello world]\nEND\nCLOSED");
}

TEST(HttpMessageParser, AcceptsRepeatedIdenticalContentLengths) {
  EXPECT_EQ(every_split("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok"),
            "POST / HTTP/1.1 host=a\nHost: a\nContent-Length: 2, 2\nContent-Length: 2\nBODY[ok]\nEND\nCLOSED");
}

TEST(HttpMessageParser, DecodesChunkedBodiesWithExtensionsAndTrailers) {
  EXPECT_EQ(every_split("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "5;name=value\r\nhello\r\n1 ; x\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"),
            "POST / HTTP/1.1 host=a\nHost: a\nTransfer-Encoding: chunked\nBODY[hello 0123456789]\nEND\nCLOSED");
}

TEST(HttpMessageParser, ParsesPipelinedRequestsInOrder) {
  EXPECT_EQ(every_split("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                        "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                        "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
            "GET /a HTTP/1.1 host=h\nHost: h\nBODY[]\nEND\n"
            "POST /b HTTP/1.1 host=h\nHost: h\nContent-Length: 3\nBODY[xyz]\nEND\n"
            "GET /c HTTP/1.1 host=h\nHost: h\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, AbsoluteFormReplacesHost) {
  EXPECT_EQ(every_split("GET http://example.org:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n"),
            "GET http://example.org:8080/p?q HTTP/1.1 host=example.org:8080\nHost: other\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, AsteriskFormOnlyForOptions) {
  EXPECT_EQ(every_split("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
            "OPTIONS * HTTP/1.1 host=a\nHost: a\nBODY[]\nEND\nCLOSED");
  EXPECT_EQ(status_of("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), "400");
}

TEST(HttpMessageParser, RejectsMalformedRequestsWith400) {
  for (std::string_view input : {
           "GET / HTTP/1.1\r\n\r\n",                                                        // no Host in 1.1
           "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",                                  // two Hosts
           "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",                                           // bad Host
           "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",                          // obs-fold
           "GET / HTTP/1.1\r\nHost : a\r\n\r\n",                                            // space before colon
           "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n",                                  // no colon
           "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",                                  // bare CR
           "GET / HTTP/1.1\nHost: a\n\n",                                                   // bare LF
           "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",                                            // two spaces
           "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",                                            // trailing space
           "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",                                             // method not a token
           "GET / HTTX/1.1\r\nHost: a\r\n\r\n",                                             // not HTTP
           "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n",                                // authority-form
           "GET /#f HTTP/1.1\r\nHost: a\r\n\r\n",                                           // fragment
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", // differing CL
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",                      // bad CL
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", // overflow
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", // TE + CL
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",                // chunked not last (§6.3)
           "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",               // TE in 1.0
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",        // bad chunk size
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", // chunk too long
           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
           "fffffffffffffffff\r\n",                                     // size overflow
           "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab", // cut short
           "GET / HTTP/1.1\r\nHost: a\r\n",                             // head cut short
       }) {
    EXPECT_EQ(status_of(input), "400") << input;
  }
}

TEST(HttpMessageParser, UnsupportedVersionIs505) {
  EXPECT_EQ(status_of("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), "505");
  EXPECT_EQ(status_of("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), "505");
}

TEST(HttpMessageParser, UnknownTransferCodingIs501) {
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), "501");
}

TEST(HttpMessageParser, LongRequestLineIs414) {
  ParserLimits limits;
  limits.max_start_line = 64;
  std::string ok = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(every_split(ok, Kind::request, limits).substr(0, 4), "GET ");
  std::string long_line = "GET /" + std::string(64 - 13, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(status_of(long_line, limits), "414");
  // Without an end in sight, rejected as soon as the limit passes.
  EXPECT_EQ(status_of("GET /" + std::string(1000, 'a'), limits), "414");
}

TEST(HttpMessageParser, LargeHeaderSectionIs431) {
  ParserLimits limits;
  limits.max_header_section = 100;
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(200, 'x') + "\r\n\r\n", limits), "431");
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'x'), limits), "431");
  limits = {};
  limits.max_fields = 3;
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", limits).substr(0, 4), "GET ");
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits), "431");
}

TEST(HttpMessageParser, LargeBodyIs413) {
  ParserLimits limits;
  limits.max_body = 10;
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", limits), "413");
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n"
                      "8\r\n12345678\r\n0\r\n\r\n",
                      limits),
            "413");
  EXPECT_NE(every_split("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", Kind::request, limits)
                .find("BODY[0123456789]"),
            std::string::npos);
}

TEST(HttpMessageParser, BodyLargerThanTheBufferStreamsThrough) {
  ParserLimits limits;
  limits.max_start_line = 100;
  limits.max_header_section = 100;
  limits.max_body = 200'000;
  std::string body(100'000, 'b');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  auto input = "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + body;
  auto result = transcript(input, [](std::size_t) { return std::size_t{7000}; }, Kind::request, limits);
  EXPECT_NE(result.find("BODY[" + body + "]"), std::string::npos);
  auto chunked = "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n186A0\r\n" + body + "\r\n0\r\n\r\n";
  result = transcript(chunked, [](std::size_t) { return std::size_t{5000}; }, Kind::request, limits);
  EXPECT_NE(result.find("BODY[" + body + "]"), std::string::npos);
}

TEST(HttpMessageParser, ParsesResponsesWithEveryFraming) {
  EXPECT_EQ(every_split("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", Kind::response),
            "200 OK\nContent-Length: 2\nBODY[hi]\nEND\nCLOSED");
  EXPECT_EQ(every_split("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n", Kind::response),
            "200 OK\nTransfer-Encoding: chunked\nBODY[hi]\nEND\nCLOSED");
  EXPECT_EQ(every_split("HTTP/1.0 200 OK\r\n\r\nuntil the end", Kind::response), "200 OK\nBODY[until the end]\nEND\n"
                                                                                 "CLOSED");
  EXPECT_EQ(every_split("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
                        Kind::response),
            "204 No Content\nBODY[]\nEND\n304 Not Modified\nContent-Length: 5\nBODY[]\nEND\nCLOSED");
  EXPECT_EQ(every_split("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", Kind::response),
            "100 Continue\nBODY[]\nEND\n200 \nContent-Length: 0\nBODY[]\nEND\nCLOSED");
}

TEST(HttpMessageParser, ResponseToHeadHasNoBody) {
  auto parser = MUST(MessageParser::create(Kind::response));
  parser.set_request_method("HEAD");
  std::string_view input = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  auto space = parser.free_space();
  std::memcpy(space.data(), input.data(), input.size());
  parser.commit(input.size());
  EXPECT_EQ(parser.next()->type, MessageParser::Event::Type::head);
  EXPECT_EQ(parser.next()->type, MessageParser::Event::Type::end);
}

TEST(HttpMessageParser, ErrorsAreSticky) {
  auto parser = MUST(MessageParser::create(Kind::request));
  std::string_view input = "BAD\r\n\r\n";
  auto space = parser.free_space();
  std::memcpy(space.data(), input.data(), input.size());
  parser.commit(input.size());
  EXPECT_EQ(parser.next().error().status, Status::bad_request);
  EXPECT_EQ(parser.next().error().status, Status::bad_request);
  EXPECT_TRUE(parser.free_space().empty());
}

} // namespace
} // namespace morgana::http
