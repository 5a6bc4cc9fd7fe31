#include "morgana/http/response_writer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "morgana/core/event_loop.h"
#include "sim.h"

namespace morgana::http {
namespace {

// Records every write, to see how a response is split into writes (segments, TLS records).
class RecordingStream final : public net::Stream {
public:
  std::vector<std::string> writes;

  Task<Result<std::size_t>> read(MutableBytes, Instant) override { co_return std::size_t{0}; }
  Task<Result<void>> write(Bytes data, Instant) override {
    writes.emplace_back(reinterpret_cast<const char*>(data.data()), data.size());
    co_return Result<void>{};
  }
  Result<void> shutdown() override {
    writes.emplace_back("<shutdown>");
    return {};
  }
  void abort() override {}
  void set_nodelay(bool) override {}
  void set_keepalive(std::optional<Duration>) override {}
  net::Endpoint local() const override { return {}; }
  net::Endpoint remote() const override { return {}; }
};

class Pieces final : public BodySource {
public:
  explicit Pieces(std::vector<std::string> pieces) : m_pieces(std::move(pieces)) {}
  Task<Result<Body>> next() override {
    if (m_next == m_pieces.size()) co_return Body{};
    co_return Body::from_string(m_pieces[m_next++]);
  }

private:
  std::vector<std::string> m_pieces;
  std::size_t m_next = 0;
};

class ResponseWriterTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }

  std::uint64_t send(Response& response, ResponseContext context = {}) {
    auto sent = loop().run(write_response(stream, response, context));
    EXPECT_TRUE(sent.has_value());
    return sent.value_or(0);
  }

  RecordingStream stream;
};

TEST_F(ResponseWriterTest, ASmallBodyGoesOutInTheHeadsWrite) {
  auto response = Response::text(Status::ok, std::string(1000, 'a'));
  EXPECT_EQ(send(response), 1000U);
  ASSERT_EQ(stream.writes.size(), 1U);
  EXPECT_TRUE(stream.writes[0].starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(stream.writes[0].ends_with("\r\n\r\n" + std::string(1000, 'a')));
}

TEST_F(ResponseWriterTest, ALargeBodyIsWrittenFromWhereItIs) {
  auto response = Response::text(Status::ok, std::string(100'000, 'b'));
  EXPECT_EQ(send(response), 100'000U);
  ASSERT_GE(stream.writes.size(), 2U);
  EXPECT_TRUE(stream.writes[0].ends_with("\r\n\r\n"));
  std::string body;
  for (std::size_t i = 1; i < stream.writes.size(); ++i) body += stream.writes[i];
  EXPECT_EQ(body, std::string(100'000, 'b'));
}

// A response that closes the connection shuts the stream down with its last
// write (Stream::write_last), so the end can leave with the data.
TEST_F(ResponseWriterTest, AClosingResponseEndsTheStreamWithItsLastWrite) {
  auto response = Response::text(Status::ok, "bye");
  ResponseContext context;
  context.close = true;
  EXPECT_EQ(send(response, context), 3U);
  ASSERT_EQ(stream.writes.size(), 2U);
  EXPECT_TRUE(stream.writes[0].ends_with("Connection: close\r\n\r\nbye"));
  EXPECT_EQ(stream.writes[1], "<shutdown>");
}

TEST_F(ResponseWriterTest, AClosingChunkedResponseEndsTheStreamAfterTheLastChunk) {
  Response response;
  response.source = std::make_unique<Pieces>(std::vector<std::string>{"ab"});
  ResponseContext context;
  context.close = true;
  EXPECT_EQ(send(response, context), 2U);
  ASSERT_GE(stream.writes.size(), 3U);
  EXPECT_EQ(stream.writes[stream.writes.size() - 2], "0\r\n\r\n");
  EXPECT_EQ(stream.writes.back(), "<shutdown>");
}

TEST_F(ResponseWriterTest, AKeptAliveResponseLeavesTheStreamOpen) {
  auto response = Response::text(Status::ok, "more");
  EXPECT_EQ(send(response), 4U);
  ASSERT_EQ(stream.writes.size(), 1U);
}

TEST_F(ResponseWriterTest, HeadSendsTheHeadAlone) {
  auto response = Response::text(Status::ok, "hello");
  ResponseContext context;
  context.head_request = true;
  EXPECT_EQ(send(response, context), 0U);
  ASSERT_EQ(stream.writes.size(), 1U);
  EXPECT_NE(stream.writes[0].find("Content-Length: 5\r\n"), std::string::npos);
  EXPECT_TRUE(stream.writes[0].ends_with("\r\n\r\n"));
}

TEST_F(ResponseWriterTest, EachSmallChunkIsOneWrite) {
  Response response;
  response.source = std::make_unique<Pieces>(std::vector<std::string>{"hello", std::string(20, 'x')});
  EXPECT_EQ(send(response), 25U);
  ASSERT_EQ(stream.writes.size(), 4U); // head, two chunks, the last chunk
  EXPECT_EQ(stream.writes[1], "5\r\nhello\r\n");
  EXPECT_EQ(stream.writes[2], "14\r\n" + std::string(20, 'x') + "\r\n");
  EXPECT_EQ(stream.writes[3], "0\r\n\r\n");
}

} // namespace
} // namespace morgana::http
