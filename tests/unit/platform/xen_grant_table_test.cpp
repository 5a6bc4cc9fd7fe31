#include "morgana/platform/pvh/xen_grant_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "xen_fake.h"

namespace morgana::pvh::xen {
namespace {

using test::load;
using test::Pages;

struct Entry {
  std::uint16_t flags, domid;
  std::uint32_t frame;
};

Entry entry(const Pages& frames, GrantRef ref) {
  const auto* at = frames.data() + std::size_t{ref} * 8;
  return {load<std::uint16_t>(at), load<std::uint16_t>(at + 2), load<std::uint32_t>(at + 4)};
}

// The other domain mapping or copying the page, as Xen marks it.
void set_flags(const Pages& frames, GrantRef ref, std::uint16_t flags) {
  std::atomic_ref(*reinterpret_cast<std::uint16_t*>(frames.data() + std::size_t{ref} * 8)).fetch_or(flags);
}

TEST(XenGrantTable, TheFirstEightEntriesStayXensAndOthersAreCleared) {
  Pages frames(1);
  for (std::size_t i = 0; i < test::page; ++i) frames.data()[i] = std::byte{0xee};
  auto table = GrantTable::create(frames.span());
  ASSERT_TRUE(table);
  EXPECT_EQ((*table)->capacity(), 512u);
  EXPECT_EQ((*table)->free_count(), 512u - 8);
  EXPECT_EQ(std::to_integer<int>(frames.data()[0]), 0xee);
  EXPECT_EQ(std::to_integer<int>(frames.data()[8 * 8 - 1]), 0xee);
  EXPECT_EQ(std::to_integer<int>(frames.data()[8 * 8]), 0);
  EXPECT_EQ(std::to_integer<int>(frames.data()[test::page - 1]), 0);
}

TEST(XenGrantTable, AGrantWritesFrameDomainAndFlags) {
  Pages frames(1);
  auto table = std::move(*GrantTable::create(frames.span()));
  auto writable = table->grant_access(3, 0x12345, false);
  auto readonly = table->grant_access(4, 0xfffffffful, true);
  ASSERT_TRUE(writable && readonly);
  EXPECT_EQ(*writable, 8u);
  EXPECT_EQ(*readonly, 9u);
  auto first = entry(frames, *writable);
  EXPECT_EQ(first.flags, GrantTable::permit_access);
  EXPECT_EQ(first.domid, 3);
  EXPECT_EQ(first.frame, 0x12345u);
  auto second = entry(frames, *readonly);
  EXPECT_EQ(second.flags, GrantTable::permit_access | GrantTable::readonly);
  EXPECT_EQ(second.domid, 4);
  EXPECT_EQ(second.frame, 0xffffffffu);
  auto too_high = table->grant_access(3, 0x100000000ull, false);
  ASSERT_FALSE(too_high);
  EXPECT_EQ(too_high.error(), Errc::invalid_argument);
  EXPECT_EQ(table->free_count(), 512u - 8 - 2);
}

TEST(XenGrantTable, EndingAccessFailsWhileTheOtherDomainHoldsThePage) {
  Pages frames(1);
  auto table = std::move(*GrantTable::create(frames.span()));
  auto ref = *table->grant_access(1, 0x100, false);
  for (auto held : {GrantTable::reading, GrantTable::writing}) {
    set_flags(frames, ref, held);
    auto ended = table->end_access(ref);
    ASSERT_FALSE(ended);
    EXPECT_EQ(ended.error(), Errc::in_use);
    EXPECT_NE(entry(frames, ref).flags & GrantTable::permit_access, 0);
    // Xen drops the flag when the back end unmaps.
    std::atomic_ref(*reinterpret_cast<std::uint16_t*>(frames.data() + std::size_t{ref} * 8))
        .fetch_and(static_cast<std::uint16_t>(~held));
  }
  ASSERT_TRUE(table->end_access(ref));
  EXPECT_EQ(entry(frames, ref).flags, 0);
  auto again = table->end_access(ref);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), Errc::invalid_argument);
  EXPECT_EQ(table->end_access(3).error(), Errc::invalid_argument);
  EXPECT_EQ(table->end_access(100000).error(), Errc::invalid_argument);
  // The reference is free again and handed out next.
  EXPECT_EQ(*table->grant_access(2, 0x200, false), ref);
}

TEST(XenGrantTable, EveryReferenceOnceThenNoSpace) {
  Pages frames(2);
  auto table = std::move(*GrantTable::create(frames.span()));
  std::set<GrantRef> refs;
  for (std::size_t i = 0; i < 1024 - 8; ++i) {
    auto ref = table->grant_access(1, i, true);
    ASSERT_TRUE(ref);
    EXPECT_GE(*ref, 8u);
    EXPECT_LT(*ref, 1024u);
    refs.insert(*ref);
  }
  EXPECT_EQ(refs.size(), 1024u - 8);
  auto full = table->grant_access(1, 0, true);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), Errc::no_space);
  ASSERT_TRUE(table->end_access(500));
  EXPECT_EQ(*table->grant_access(1, 0, true), 500u);
}

TEST(XenGrantTable, FramesMustBeWholePages) {
  Pages frames(1);
  EXPECT_EQ(GrantTable::create(frames.span().first(4000)).error(), Errc::invalid_argument);
  EXPECT_EQ(GrantTable::create({}).error(), Errc::invalid_argument);
}

} // namespace
} // namespace morgana::pvh::xen
