#include "morgana/kv/stores.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "morgana/core/format.h"
#include "morgana/kv/crunch_store.h"

namespace morgana::kv {
namespace {

// A store holding one file, "hello.txt", whose content tells stores apart.
class OneFileStore final : public Store {
public:
  explicit OneFileStore(std::string content) : m_content(std::move(content)) {}

  [[nodiscard]] Result<Value> get(Key key) const override {
    if (key != "hello.txt") return fail(Errc::not_found);
    return Value{as_bytes(std::string_view{m_content}), nullptr};
  }
  [[nodiscard]] Result<Metadata> metadata(Key key) const override {
    if (key != "hello.txt") return fail(Errc::not_found);
    return Metadata{.size = m_content.size()};
  }
  [[nodiscard]] Result<std::vector<ListEntry>> list(Key prefix) const override {
    if (!prefix.empty()) return fail(Errc::not_found);
    return std::vector<ListEntry>{{"hello.txt", false}};
  }

private:
  std::string m_content;
};

std::string content_of(const Store* store) {
  if (store == nullptr) return "(no store)";
  auto value = store->get("hello.txt");
  if (!value) return "(no hello.txt)";
  return std::string{as_string(value->data)};
}

std::string store_names() {
  StringBuilder<256> names;
  format_to(names, "{}", StoreNames{});
  return std::string{names.view()};
}

// The crunched stores are the unit tests' registry (crunch_store_test.cpp):
// "crunch-test-site" and "crunch-test-empty".
class Stores : public ::testing::Test {
protected:
  void TearDown() override {
    for (auto name : {"crunch-test-site", "boot-only", "second"}) unregister_store(name);
  }
};

TEST_F(Stores, WithoutRegistrationsTheCrunchedStoreIsFound) {
  EXPECT_EQ(store("crunch-test-site"), crunched("crunch-test-site"));
  EXPECT_NE(store("crunch-test-site"), nullptr);
  EXPECT_EQ(store("boot-only"), nullptr);
  EXPECT_EQ(store(""), nullptr);
  EXPECT_EQ(store_names(), "crunch-test-site, crunch-test-empty (built in)");
}

TEST_F(Stores, AStoreRegisteredAtBootWinsOverTheCrunchedOne) {
  auto boot = std::make_shared<const OneFileStore>("from boot");
  register_store("crunch-test-site", boot);
  EXPECT_EQ(store("crunch-test-site"), boot.get());
  EXPECT_EQ(content_of(store("crunch-test-site")), "from boot");
  // Other crunched stores are still found.
  EXPECT_EQ(store("crunch-test-empty"), crunched("crunch-test-empty"));

  unregister_store("crunch-test-site");
  EXPECT_EQ(store("crunch-test-site"), crunched("crunch-test-site"));
}

TEST_F(Stores, AStoreOnlyRegisteredAtBootIsFoundUntilUnregistered) {
  register_store("boot-only", std::make_shared<const OneFileStore>("only at boot"));
  EXPECT_EQ(content_of(store("boot-only")), "only at boot");
  EXPECT_EQ(store("boot-onl"), nullptr);
  EXPECT_EQ(store("boot-only/"), nullptr);
  unregister_store("boot-only");
  EXPECT_EQ(store("boot-only"), nullptr);
}

TEST_F(Stores, RegisteringANameAgainReplacesTheStore) {
  register_store("boot-only", std::make_shared<const OneFileStore>("first"));
  register_store("boot-only", std::make_shared<const OneFileStore>("replacement"));
  EXPECT_EQ(content_of(store("boot-only")), "replacement");
  EXPECT_EQ(store_names(), "boot-only (at boot); crunch-test-site, crunch-test-empty (built in)");
}

TEST_F(Stores, ANullRegistrationFallsBackToTheCrunchedStore) {
  register_store("crunch-test-site", nullptr);
  EXPECT_EQ(store("crunch-test-site"), crunched("crunch-test-site"));
}

TEST_F(Stores, NamesListBothKindsInRegistrationOrder) {
  register_store("second", std::make_shared<const OneFileStore>("2"));
  register_store("crunch-test-site", std::make_shared<const OneFileStore>("1"));
  EXPECT_EQ(store_names(), "second, crunch-test-site (at boot); crunch-test-site, crunch-test-empty (built in)");
}

} // namespace
} // namespace morgana::kv
