#include "memory_stream.h"

#include <gtest/gtest.h>

#include <vector>

#include "morgana/core/event_loop.h"
#include "sim.h"

namespace morgana::test {
namespace {

class MemoryStreamTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }
};

Task<Result<std::vector<std::byte>>> read_all(net::Stream& stream) {
  std::vector<std::byte> all;
  std::byte chunk[1000];
  for (;;) {
    std::size_t count = CO_TRY(co_await stream.read(chunk));
    if (count == 0) co_return all;
    all.insert(all.end(), chunk, chunk + count);
  }
}

Task<void> write_then_close(std::unique_ptr<net::Stream> stream, std::vector<std::byte> data) {
  MUST(co_await stream->write(data));
  MUST(stream->shutdown());
}

TEST_F(MemoryStreamTest, CarriesMoreThanItsCapacityWithBackpressure) {
  auto pair = make_stream_pair(100);
  std::vector<std::byte> data(10'000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7);
  loop().spawn(write_then_close(std::move(pair.client), data));
  auto received = loop().run(read_all(*pair.server));
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(*received, data);
}

TEST_F(MemoryStreamTest, DestroyingOneEndIsTheEndOfStreamForTheOther) {
  auto pair = make_stream_pair();
  pair.server.reset();
  auto received = loop().run(read_all(*pair.client));
  ASSERT_TRUE(received.has_value());
  EXPECT_TRUE(received->empty());
  std::byte one[1]{};
  auto written = loop().run(pair.client->write(one));
  EXPECT_EQ(written.error(), Errc::closed);
}

TEST_F(MemoryStreamTest, AbortResetsBothEnds) {
  auto pair = make_stream_pair();
  pair.client->abort();
  auto received = loop().run(read_all(*pair.server));
  EXPECT_EQ(received.error(), Errc::closed);
}

TEST_F(MemoryStreamTest, ReadTimesOutAtItsDeadline) {
  auto pair = make_stream_pair();
  std::byte buffer[10];
  auto read = loop().run(pair.server->read(buffer, MonotonicClock::now() + 5s));
  EXPECT_EQ(read.error(), Errc::timed_out);
}

} // namespace
} // namespace morgana::test
