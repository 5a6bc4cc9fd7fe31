#include "morgana/platform/pvh/xen_store.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "counters.h"
#include "xen_fake.h"

namespace morgana::pvh::xen {
namespace {

using test::FakeXen;
using test::FakeXenstored;
using test::Pages;
using test_support::CounterWatch;

std::string with_nul(std::string_view text) { return std::string(text) + '\0'; }

// The checked payload, copied: `payload` is often a temporary.
Result<std::string> check(store::Type request, std::uint32_t type, std::string_view payload) {
  store::Header header{type, 1, 0, static_cast<std::uint32_t>(payload.size())};
  return std::string(as_string(TRY(store::check_reply(request, header, as_bytes(payload)))));
}

std::vector<std::string> names_of(store::Names names) {
  std::vector<std::string> all;
  while (auto name = names.next()) all.emplace_back(*name);
  return all;
}

TEST(XenStoreMessage, HeaderIsFourLittleEndianWordsWithABoundedLength) {
  std::byte bytes[store::header_size];
  store::write_header({2, 7, 9, 4096}, bytes);
  EXPECT_EQ(std::to_integer<int>(bytes[0]), 2);
  EXPECT_EQ(std::to_integer<int>(bytes[4]), 7);
  EXPECT_EQ(std::to_integer<int>(bytes[13]), 0x10);
  auto header = store::parse_header(bytes);
  ASSERT_TRUE(header);
  EXPECT_EQ(header->request_id, 7u);
  EXPECT_EQ(header->transaction_id, 9u);
  EXPECT_EQ(header->length, 4096u);
  store::write_header({2, 7, 9, 4097}, bytes);
  EXPECT_EQ(store::parse_header(bytes).error(), Errc::malformed);
  EXPECT_EQ(store::parse_header(std::span(bytes).first(15)).error(), Errc::truncated);
}

TEST(XenStoreMessage, RepliesAreCheckedAgainstTheRequestType) {
  EXPECT_EQ(*check(store::Type::read, 2, std::string_view("any\0bytes", 9)), std::string_view("any\0bytes", 9));
  EXPECT_TRUE(check(store::Type::write, 11, with_nul("OK")));
  EXPECT_EQ(check(store::Type::write, 11, "OK").error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::write, 11, with_nul("KO")).error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::read, 11, "OK").error(), Errc::malformed);
  // A length that differs from the bytes given.
  store::Header header{2, 1, 0, 5};
  EXPECT_EQ(store::check_reply(store::Type::read, header, as_bytes("abc")).error(), Errc::malformed);
}

TEST(XenStoreMessage, ErrorRepliesBecomeErrors) {
  EXPECT_EQ(check(store::Type::read, 16, with_nul("ENOENT")).error(), Errc::not_found);
  EXPECT_EQ(check(store::Type::transaction_end, 16, with_nul("EAGAIN")).error(), Errc::would_block);
  EXPECT_EQ(check(store::Type::write, 16, with_nul("EACCES")).error(), Errc::unsupported);
  EXPECT_EQ(check(store::Type::write, 16, with_nul("EQUIRKY")).error(), Errc::io_error);
  EXPECT_EQ(check(store::Type::write, 16, "ENOENT").error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::write, 16, "").error(), Errc::malformed);
}

TEST(XenStoreMessage, DirectoryNamesAreNulTerminatedNonEmptyAndWithoutSlashes) {
  auto list = std::string("0") + '\0' + "vif" + '\0';
  auto checked = check(store::Type::directory, 1, list);
  ASSERT_TRUE(checked);
  EXPECT_EQ(names_of(store::Names(as_bytes(*checked))), (std::vector<std::string>{"0", "vif"}));
  EXPECT_TRUE(check(store::Type::directory, 1, ""));
  EXPECT_EQ(check(store::Type::directory, 1, std::string("a") + '\0' + "b").error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::directory, 1, std::string("a") + '\0' + '\0').error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::directory, 1, with_nul("a/b")).error(), Errc::malformed);
}

TEST(XenStoreMessage, TransactionIdsAreNonZeroDecimal32BitNumbers) {
  auto checked = check(store::Type::transaction_start, 6, with_nul("4294967295"));
  ASSERT_TRUE(checked);
  EXPECT_EQ(store::transaction_id(as_bytes(*checked)), 4294967295u);
  EXPECT_EQ(check(store::Type::transaction_start, 6, with_nul("4294967296")).error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::transaction_start, 6, with_nul("0")).error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::transaction_start, 6, with_nul("12a")).error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::transaction_start, 6, with_nul("")).error(), Errc::malformed);
  EXPECT_EQ(check(store::Type::transaction_start, 6, "12").error(), Errc::malformed);
}

class XenStoreTest : public ::testing::Test {
protected:
  static constexpr std::int64_t deadline = 1'000'000'000;

  XenStoreTest() {
    xen.run_backends = [this] { xenstored.step(); };
  }

  Pages interface{1};
  FakeXen xen;
  FakeXenstored xenstored{interface.span(), "/local/domain/7"};
  Store store{interface.span(), xen, 3};
};

TEST_F(XenStoreTest, ReadsWritesAndListsBelowTheDomainsPath) {
  xenstored.tree["/local/domain/7/device/vif/0/mac"] = "00:16:3e:00:00:01";
  xenstored.tree["/local/domain/7/device/vif/1/mac"] = "00:16:3e:00:00:02";
  EXPECT_EQ(*store.read("device/vif/0/mac", deadline), "00:16:3e:00:00:01");
  ASSERT_TRUE(store.write("data/greeting", "hello", deadline));
  EXPECT_EQ(xenstored.tree["/local/domain/7/data/greeting"], "hello");
  EXPECT_EQ(*store.read("/local/domain/7/data/greeting", deadline), "hello");
  auto names = store.directory("device/vif", deadline);
  ASSERT_TRUE(names);
  EXPECT_EQ(names_of(*names), (std::vector<std::string>{"0", "1"}));
  EXPECT_GT(xen.notifications[3], 0);
}

TEST_F(XenStoreTest, AMissingKeyIsNotFoundAndTheNextRequestWorks) {
  auto missing = store.read("device/vif/9/mac", deadline);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), Errc::not_found);
  EXPECT_FALSE(store.broken());
  xenstored.tree["/local/domain/7/name"] = "guest";
  EXPECT_EQ(*store.read("name", deadline), "guest");
}

TEST_F(XenStoreTest, LongValuesCrossBothRingsInPiecesAndTheIndicesWrap) {
  for (int round = 0; round < 5; ++round) {
    std::string value(3000, static_cast<char>('a' + round));
    ASSERT_TRUE(store.write("data/long", value, deadline));
    auto read = store.read("data/long", deadline);
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, value);
  }
  // Each value went through the request ring once and the response ring once.
  std::uint32_t requests, responses;
  std::memcpy(&requests, interface.data() + Store::req_prod, 4);
  std::memcpy(&responses, interface.data() + Store::rsp_prod, 4);
  EXPECT_GT(requests, 5u * 3000);
  EXPECT_GT(responses, 5u * 3000);
}

TEST_F(XenStoreTest, ARequestOverThePayloadLimitIsRefusedUnsent) {
  std::string value(4096, 'x');
  auto written = store.write("data/long", value, deadline);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), Errc::invalid_argument);
  EXPECT_TRUE(xenstored.request_types.empty());
  EXPECT_FALSE(store.broken());
}

TEST_F(XenStoreTest, TransactionsCommitEverythingOrNothing) {
  auto tx = store.transaction_start(deadline);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(store.write("data/a", "1", deadline, *tx));
  ASSERT_TRUE(store.write("data/b", "2", deadline, *tx));
  EXPECT_FALSE(xenstored.tree.contains("/local/domain/7/data/a"));
  ASSERT_TRUE(store.transaction_end(*tx, true, deadline));
  EXPECT_EQ(xenstored.tree["/local/domain/7/data/a"], "1");
  EXPECT_EQ(xenstored.tree["/local/domain/7/data/b"], "2");

  tx = store.transaction_start(deadline);
  ASSERT_TRUE(store.write("data/c", "3", deadline, *tx));
  ASSERT_TRUE(store.transaction_end(*tx, false, deadline));
  EXPECT_FALSE(xenstored.tree.contains("/local/domain/7/data/c"));

  xenstored.conflicting_commits = 1;
  tx = store.transaction_start(deadline);
  ASSERT_TRUE(store.write("data/c", "3", deadline, *tx));
  auto ended = store.transaction_end(*tx, true, deadline);
  ASSERT_FALSE(ended);
  EXPECT_EQ(ended.error(), Errc::would_block);
  EXPECT_FALSE(xenstored.tree.contains("/local/domain/7/data/c"));
}

TEST_F(XenStoreTest, AReplyAfterTheDeadlineIsSkippedByTheNextRequest) {
  xenstored.tree["/local/domain/7/a"] = "first";
  xenstored.tree["/local/domain/7/b"] = "second";
  xenstored.answering = false;
  auto late = store.read("a", xen.now + 50'000'000);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), Errc::timed_out);
  EXPECT_FALSE(store.broken());
  EXPECT_GE(xen.now, 50'000'000);
  xenstored.answering = true;
  xenstored.release_held();
  CounterWatch stale("xenstore.stale_reply");
  EXPECT_EQ(*store.read("b", deadline), "second");
  EXPECT_EQ(stale.delta(), 1u);
}

TEST_F(XenStoreTest, WatchEventsAreSkipped) {
  xenstored.tree["/local/domain/7/a"] = "value";
  xenstored.inject_message(15, 0, std::string("a") + '\0' + "token" + '\0');
  CounterWatch watches("xenstore.watch_event");
  EXPECT_EQ(*store.read("a", deadline), "value");
  EXPECT_EQ(watches.delta(), 1u);
}

TEST_F(XenStoreTest, AReplyOfTheWrongTypeIsMalformedButTheStreamStaysInStep) {
  xenstored.tree["/local/domain/7/a"] = "value";
  xenstored.inject_message(11, 1, with_nul("OK"));
  CounterWatch bad("xenstore.bad_reply");
  auto read = store.read("a", deadline);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), Errc::malformed);
  EXPECT_EQ(bad.delta(), 1u);
  EXPECT_EQ(*store.read("a", deadline), "value");
}

TEST_F(XenStoreTest, AnOversizedReplyBreaksTheConnectionForGood) {
  xenstored.tree["/local/domain/7/a"] = "value";
  std::byte header[16] = {};
  store::write_header({2, 1, 0, 5000}, header);
  xenstored.inject(header);
  auto read = store.read("a", deadline);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), Errc::malformed);
  EXPECT_TRUE(store.broken());
  auto next = store.read("a", deadline);
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error(), Errc::closed);
}

TEST_F(XenStoreTest, AProducerIndexPastTheRingBreaksTheConnection) {
  std::uint32_t wild = 2000;
  std::memcpy(interface.data() + Store::rsp_prod, &wild, 4);
  xen.run_backends = nullptr;
  CounterWatch bad("xenstore.bad_index");
  auto read = store.read("a", deadline);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), Errc::malformed);
  EXPECT_EQ(bad.delta(), 1u);
  EXPECT_TRUE(store.broken());
}

TEST_F(XenStoreTest, AFullRequestRingWaitsForXenstoredUntilTheDeadline) {
  xen.run_backends = nullptr;
  std::string value(2000, 'x');
  auto written = store.write("data/long", value, xen.now + 10'000'000);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error(), Errc::timed_out);
  // Half a request went out: the stream cannot be trusted any more.
  EXPECT_TRUE(store.broken());
}

} // namespace
} // namespace morgana::pvh::xen
