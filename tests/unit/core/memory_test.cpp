#include "morgana/core/memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace morgana {
namespace {

class Made {
public:
  static Result<std::unique_ptr<Made>> create(int value) { return try_make_unique<Made>("made", value); }
  [[nodiscard]] int value() const { return m_value; }

private:
  explicit Made(int value) : m_value(value) {}
  friend struct morgana::NothrowNew;
  int m_value;
};

TEST(TryMakeUnique, BuildsAnObjectWithItsArguments) {
  auto text = try_make_unique<std::string>("text", 3, 'x');
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(**text, "xxx");
}

TEST(TryMakeUnique, ReachesConstructorsPrivateToAFactoryThatBefriendsNothrowNew) {
  auto made = Made::create(7);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ((*made)->value(), 7);
}

TEST(TryMakeUnique, BuildsArrays) {
  auto bytes = try_make_unique<std::byte[]>("bytes", 100);
  ASSERT_TRUE(bytes.has_value());
  (*bytes)[99] = std::byte{1};
  EXPECT_TRUE(try_make_unique<std::byte[]>("none", 0).has_value());
}

TEST(TryMakeUnique, AnArrayWhoseSizeOverflowsIsNoMemory) {
  auto words = try_make_unique<std::uint64_t[]>("words", SIZE_MAX / 4);
  ASSERT_FALSE(words.has_value());
  EXPECT_EQ(words.error(), Errc::no_memory);
  EXPECT_EQ(words.error().context, "words");
}

TEST(TryMakeUnique, AnAllocationTheHeapCannotHoldIsNoMemory) {
  // Far beyond any heap (tests/unit/asan_options.cpp lets ASan return null).
  auto huge = try_make_unique<std::byte[]>("huge buffer", std::size_t{1} << 52);
  ASSERT_FALSE(huge.has_value());
  EXPECT_EQ(huge.error(), Errc::no_memory);
  EXPECT_EQ(huge.error().context, "huge buffer");
}

} // namespace
} // namespace morgana
