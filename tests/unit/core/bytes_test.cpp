#include "morgana/core/bytes.h"

#include <gtest/gtest.h>

#include <array>

namespace morgana {
namespace {

template <class... T>
std::array<std::byte, sizeof...(T)> bytes_of(T... values) {
  return {std::byte(values)...};
}

TEST(ByteReader, ReadsBigEndianAndAdvances) {
  auto data = bytes_of(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a);
  ByteReader reader(data);
  EXPECT_EQ(reader.u8().value(), 0x01);
  EXPECT_EQ(reader.u16().value(), 0x0203);
  EXPECT_EQ(reader.u32().value(), 0x04050607u);
  EXPECT_EQ(reader.position(), 7u);
  EXPECT_EQ(reader.remaining(), 3u);
  auto rest = reader.bytes(3).value();
  EXPECT_EQ(rest.data(), data.data() + 7);
  EXPECT_EQ(rest.size(), 3u);
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.whole().size(), data.size());
}

// Each read with exactly the bytes it needs succeeds and reaches the end; with
// one byte fewer it fails with Errc::truncated and leaves the position alone.
TEST(ByteReader, U8AtAndPastEnd) {
  auto data = bytes_of(0xab);
  ByteReader reader(data);
  EXPECT_EQ(reader.u8().value(), 0xab);
  EXPECT_TRUE(reader.at_end());
  auto past = reader.u8();
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 1u);
}

TEST(ByteReader, U16AtAndPastEnd) {
  auto data = bytes_of(0x00, 0x12, 0x34);
  ByteReader reader(data);
  ASSERT_TRUE(reader.u8());
  EXPECT_EQ(reader.u16().value(), 0x1234);
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.u16().error().code, Errc::truncated);

  ByteReader short_reader(std::span(data).first(2));
  ASSERT_TRUE(short_reader.u8());
  EXPECT_EQ(short_reader.u16().error().code, Errc::truncated);
  EXPECT_EQ(short_reader.position(), 1u);
  EXPECT_EQ(short_reader.u8().value(), 0x12);
}

TEST(ByteReader, U32AtAndPastEnd) {
  auto data = bytes_of(0xde, 0xad, 0xbe, 0xef);
  ByteReader reader(data);
  EXPECT_EQ(reader.u32().value(), 0xdeadbeefu);
  EXPECT_EQ(reader.u32().error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 4u);

  for (std::size_t size = 0; size < 4; ++size) {
    ByteReader short_reader(std::span(data).first(size));
    EXPECT_EQ(short_reader.u32().error().code, Errc::truncated) << size;
    EXPECT_EQ(short_reader.position(), 0u);
  }
}

TEST(ByteReader, BytesAtAndPastEnd) {
  auto data = bytes_of(1, 2, 3, 4);
  ByteReader reader(data);
  EXPECT_EQ(reader.bytes(5).error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 0u);
  EXPECT_EQ(reader.bytes(4).value().size(), 4u);
  EXPECT_TRUE(reader.bytes(0).has_value());
  EXPECT_EQ(reader.bytes(1).error().code, Errc::truncated);
}

TEST(ByteReader, EmptyInputFailsEveryRead) {
  ByteReader reader(Bytes{});
  EXPECT_TRUE(reader.at_end());
  EXPECT_FALSE(reader.u8());
  EXPECT_FALSE(reader.u16());
  EXPECT_FALSE(reader.u32());
  EXPECT_FALSE(reader.bytes(1));
  EXPECT_FALSE(reader.skip(1));
  EXPECT_FALSE(reader.sub(1));
  EXPECT_TRUE(reader.bytes(0));
  EXPECT_TRUE(reader.skip(0));
  EXPECT_TRUE(reader.seek(0));
}

TEST(ByteReader, SkipAtAndPastEnd) {
  auto data = bytes_of(1, 2, 3);
  ByteReader reader(data);
  EXPECT_EQ(reader.skip(4).error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 0u);
  EXPECT_TRUE(reader.skip(3));
  EXPECT_TRUE(reader.at_end());
}

TEST(ByteReader, SubReaderIsBoundedAndParentSkips) {
  auto data = bytes_of(1, 2, 3, 4, 5);
  ByteReader reader(data);
  ASSERT_TRUE(reader.u8());
  EXPECT_EQ(reader.sub(5).error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 1u);
  auto inner = reader.sub(2).value();
  EXPECT_EQ(reader.position(), 3u);
  EXPECT_EQ(inner.u16().value(), 0x0203);
  EXPECT_EQ(inner.u8().error().code, Errc::truncated);
  EXPECT_EQ(reader.u8().value(), 4);
}

TEST(ByteReader, SeekWithinAndPastEnd) {
  auto data = bytes_of(1, 2, 3);
  ByteReader reader(data);
  ASSERT_TRUE(reader.seek(2));
  EXPECT_EQ(reader.u8().value(), 3);
  ASSERT_TRUE(reader.seek(3));
  EXPECT_TRUE(reader.at_end());
  EXPECT_EQ(reader.seek(4).error().code, Errc::truncated);
  EXPECT_EQ(reader.position(), 3u);
  ASSERT_TRUE(reader.seek(0));
  EXPECT_EQ(reader.u8().value(), 1);
  EXPECT_EQ(reader.rest().size(), 2u);
}

TEST(ByteWriter, WritesBigEndianAndFinishes) {
  std::array<std::byte, 11> buffer{};
  ByteWriter writer(buffer);
  writer.u8(0x01);
  writer.u16(0x0203);
  writer.u32(0x04050607);
  writer.bytes(bytes_of(0x08, 0x09));
  writer.zeros(2);
  auto written = writer.finish().value();
  EXPECT_EQ(written.size(), 11u);
  EXPECT_EQ(written.data(), buffer.data());
  EXPECT_EQ(buffer, bytes_of(1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0));
  EXPECT_FALSE(writer.overflowed());
}

TEST(ByteWriter, ExactFitDoesNotOverflow) {
  std::array<std::byte, 4> buffer{};
  ByteWriter writer(buffer);
  writer.u32(0xcafef00d);
  EXPECT_FALSE(writer.overflowed());
  EXPECT_TRUE(writer.finish());
  EXPECT_EQ(load_be32(buffer.data()), 0xcafef00du);
}

// Each kind of write that needs one byte more than is left overflows, writes
// nothing, and leaves finish() failing.
TEST(ByteWriter, EveryWritePastEndOverflows) {
  auto check = [](std::size_t capacity, auto&& write_past_end) {
    std::array<std::byte, 5> buffer{std::byte{0xee}, std::byte{0xee}, std::byte{0xee}, std::byte{0xee},
                                    std::byte{0xee}};
    ByteWriter writer(std::span(buffer).first(capacity));
    writer.u8(0x11);
    write_past_end(writer);
    EXPECT_TRUE(writer.overflowed()) << capacity;
    EXPECT_EQ(writer.position(), 1u);
    EXPECT_EQ(writer.finish().error().code, Errc::no_space);
    EXPECT_EQ(buffer, bytes_of(0x11, 0xee, 0xee, 0xee, 0xee));
  };
  check(1, [](ByteWriter& w) { w.u8(1); });
  check(2, [](ByteWriter& w) { w.u16(0x0102); });
  check(4, [](ByteWriter& w) { w.u32(0x01020304); });
  check(3, [](ByteWriter& w) { w.bytes(bytes_of(1, 2, 3)); });
  check(3, [](ByteWriter& w) { w.zeros(3); });
  check(3, [](ByteWriter& w) { EXPECT_EQ(w.reserve(3), nullptr); });
}

TEST(ByteWriter, OverflowIsSticky) {
  std::array<std::byte, 3> buffer{};
  ByteWriter writer(buffer);
  writer.u16(0x0102);
  writer.u16(0x0304); // does not fit
  writer.u8(0x05);    // would fit, but the writer already failed
  EXPECT_TRUE(writer.overflowed());
  EXPECT_EQ(writer.position(), 2u);
  EXPECT_EQ(buffer, bytes_of(1, 2, 0));
  EXPECT_EQ(writer.finish().error().code, Errc::no_space);
  EXPECT_EQ(writer.written().size(), 2u);
}

TEST(ByteWriter, ReserveFillsInLater) {
  std::array<std::byte, 6> buffer{};
  ByteWriter writer(buffer);
  auto* length = writer.reserve(2);
  ASSERT_NE(length, nullptr);
  writer.u32(0xaabbccdd);
  store_be16(length, static_cast<std::uint16_t>(writer.position()));
  EXPECT_EQ(buffer, bytes_of(0x00, 0x06, 0xaa, 0xbb, 0xcc, 0xdd));
}

TEST(ByteWriter, EmptyWritesIntoEmptyBufferSucceed) {
  ByteWriter writer(MutableBytes{});
  writer.bytes(Bytes{});
  writer.zeros(0);
  EXPECT_FALSE(writer.overflowed());
  EXPECT_EQ(writer.finish().value().size(), 0u);
  writer.u8(1);
  EXPECT_TRUE(writer.overflowed());
}

TEST(Bytes, LoadStoreBigEndian) {
  std::array<std::byte, 4> buffer{};
  store_be32(buffer.data(), 0x80402010);
  EXPECT_EQ(buffer, bytes_of(0x80, 0x40, 0x20, 0x10));
  EXPECT_EQ(load_be32(buffer.data()), 0x80402010u);
  store_be16(buffer.data() + 2, 0xfffe);
  EXPECT_EQ(load_be16(buffer.data() + 2), 0xfffe);
  EXPECT_EQ(load_be16(buffer.data()), 0x8040);
}

TEST(Bytes, StringConversionsRoundTrip) {
  std::string_view text = "morgana";
  auto bytes = as_bytes(text);
  EXPECT_EQ(bytes.size(), text.size());
  EXPECT_EQ(std::to_integer<char>(bytes[0]), 'm');
  EXPECT_EQ(as_string(bytes), text);
}

} // namespace
} // namespace morgana
