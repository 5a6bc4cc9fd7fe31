#include "morgana/core/log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim.h"

namespace morgana::log {
namespace {

// Set explicitly by every test; one left to follow `*`; one set only through set_level.
Source test_log{"logtest"};
Source follower_log{"logtest.follower"};
Source manual_log{"logtest.manual"};

class Log : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    ASSERT_TRUE(configure("*:info"));
    test_log.set_level(Level::info);
  }
  void TearDown() override { EXPECT_TRUE(configure("*:info")); }

  static std::size_t line_count() {
    const auto& text = sim::console_output();
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
};

TEST_F(Log, LineHasTimeSourceLevelAndText) {
  sim::advance(1'234'567'000); // the simulated clock starts at 1 s
  test_log.info("value {} from {}", 42, "test");
  EXPECT_EQ(sim::console_output(), "[2.234567] logtest info: value 42 from test\n");
}

TEST_F(Log, MicrosecondsAreZeroPadded) {
  sim::advance(5'000);
  test_log.warn("w");
  EXPECT_EQ(sim::console_output(), "[1.000005] logtest warn: w\n");
}

TEST_F(Log, DefaultLevelIsInfo) {
  follower_log.info("shown");
  follower_log.debug("hidden");
  follower_log.trace("hidden");
  follower_log.error("shown");
  EXPECT_EQ(line_count(), 2u);
  EXPECT_EQ(sim::console_output().find("hidden"), std::string::npos);
}

TEST_F(Log, ConfigureOneSource) {
  ASSERT_TRUE(configure("logtest:debug"));
  EXPECT_EQ(test_log.level(), Level::debug);
  EXPECT_TRUE(test_log.enabled(Level::debug));
  EXPECT_FALSE(test_log.enabled(Level::trace));
  test_log.debug("debug line");
  test_log.trace("trace line");
  follower_log.debug("follower debug");
  EXPECT_EQ(sim::console_output(), "[1.000000] logtest debug: debug line\n");
}

TEST_F(Log, StarSetsEveryOtherSource) {
  ASSERT_TRUE(configure("logtest:debug,*:error"));
  EXPECT_EQ(follower_log.level(), Level::error);
  EXPECT_EQ(main.level(), Level::error);
  EXPECT_EQ(test_log.level(), Level::debug);
  // Order within the spec does not matter.
  ASSERT_TRUE(configure("*:trace,logtest:warn"));
  EXPECT_EQ(follower_log.level(), Level::trace);
  EXPECT_EQ(test_log.level(), Level::warn);
  follower_log.trace("t");
  test_log.info("i");
  EXPECT_EQ(sim::console_output(), "[1.000000] logtest.follower trace: t\n");
}

TEST_F(Log, OffSilencesEvenErrors) {
  ASSERT_TRUE(configure("logtest:off"));
  test_log.error("nothing");
  EXPECT_EQ(sim::console_output(), "");
}

TEST_F(Log, EveryLevelNameParses) {
  for (auto [name, level] :
       {std::pair{"off", Level::off}, std::pair{"error", Level::error}, std::pair{"warn", Level::warn},
        std::pair{"info", Level::info}, std::pair{"debug", Level::debug}, std::pair{"trace", Level::trace}}) {
    ASSERT_TRUE(configure(std::string("logtest:") + name)) << name;
    EXPECT_EQ(test_log.level(), level) << name;
  }
}

TEST_F(Log, UnknownSourceRejected) {
  auto result = configure("nosuchsource:debug");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_EQ(result.error().context, "no log source by that name");
}

TEST_F(Log, BadLevelRejected) {
  auto result = configure("logtest:loud");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_NE(result.error().context.find("debug"), std::string_view::npos);
  EXPECT_EQ(test_log.level(), Level::info);
  EXPECT_FALSE(configure("*:"));
}

TEST_F(Log, ItemWithoutColonRejected) {
  auto result = configure("logtest");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::invalid_argument);
  EXPECT_FALSE(configure("logtest:debug,,*:info"));
}

TEST_F(Log, EmptySpecAndTrailingCommaAccepted) {
  EXPECT_TRUE(configure(""));
  EXPECT_TRUE(configure("logtest:warn,"));
  EXPECT_EQ(test_log.level(), Level::warn);
}

TEST_F(Log, SetLevelTakesEffect) {
  ASSERT_TRUE(configure("*:error"));
  manual_log.set_level(Level::debug);
  EXPECT_EQ(manual_log.level(), Level::debug);
  manual_log.debug("now shown");
  EXPECT_EQ(line_count(), 1u);
}

TEST_F(Log, OverlongLineIsCutButStillEndsTheLine) {
  std::string long_text(3000, 'x');
  test_log.info("{}", long_text);
  test_log.info("next");
  const auto& output = sim::console_output();
  EXPECT_EQ(line_count(), 2u);
  EXPECT_LT(output.size(), 2100u);
  EXPECT_TRUE(output.ends_with("\n[1.000000] logtest info: next\n"));
}

} // namespace
} // namespace morgana::log
