#include "morgana/core/args.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace morgana::args {
namespace {

Option<std::uint16_t> port_arg{"argtest-port", "port to listen on", 80};
Option<std::uint8_t> ttl_arg{"argtest-ttl", "hop limit", 64};
Option<std::uint32_t> window_arg{"argtest-window", "window in bytes", 65535};
Option<std::uint64_t> bytes_arg{"argtest-bytes", "byte budget", 0};
Option<std::string_view> name_arg{"argtest-name", "a name", "morgana"};
Option<std::optional<std::uint16_t>> limit_arg{"argtest-limit", "an optional limit", std::nullopt};
Flag verbose_flag{"argtest-verbose", "say more", false};
Option<std::uint16_t> app_port_arg{"argtest-app-port", "an application's port", 8080, Group::application};

struct Parsed {
  Result<void> result;
  std::string diagnostics;
};

Parsed parse_all(std::vector<std::string_view> arguments, std::vector<std::string_view> configured = {}) {
  StringBuilder<256> diagnostics;
  auto result = parse(configured, arguments, diagnostics);
  return {result, std::string(diagnostics.view())};
}

struct Sink final : FormatSink {
  std::string text;
  void write(std::string_view piece) override { text.append(piece); }
};

class Args : public ::testing::Test {
protected:
  void TearDown() override { EXPECT_TRUE(parse_all({}).result); }
};

TEST_F(Args, DefaultsWithoutArguments) {
  auto parsed = parse_all({});
  ASSERT_TRUE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "");
  EXPECT_EQ(port_arg.value(), 80);
  EXPECT_EQ(name_arg.value(), "morgana");
  EXPECT_FALSE(limit_arg.value().has_value());
  EXPECT_FALSE(verbose_flag.value());
  EXPECT_FALSE(port_arg.given());
}

TEST_F(Args, ParsesTypedValues) {
  auto parsed = parse_all({"--argtest-port=8080", "--argtest-ttl=255", "--argtest-window=4294967295",
                           "--argtest-bytes=18446744073709551615", "--argtest-name=blog", "--argtest-limit=7"});
  ASSERT_TRUE(parsed.result) << parsed.diagnostics;
  EXPECT_EQ(port_arg.value(), 8080);
  EXPECT_EQ(ttl_arg.value(), 255);
  EXPECT_EQ(window_arg.value(), 4294967295u);
  EXPECT_EQ(bytes_arg.value(), 18446744073709551615u);
  EXPECT_EQ(name_arg.value(), "blog");
  EXPECT_EQ(limit_arg.value(), std::optional<std::uint16_t>{7});
  EXPECT_TRUE(port_arg.given());
  EXPECT_FALSE(verbose_flag.given());
}

TEST_F(Args, EmptyStringValue) {
  auto parsed = parse_all({"--argtest-name="});
  ASSERT_TRUE(parsed.result);
  EXPECT_EQ(name_arg.value(), "");
}

TEST_F(Args, Flags) {
  ASSERT_TRUE(parse_all({"--argtest-verbose"}).result);
  EXPECT_TRUE(verbose_flag.value());
  for (auto [text, expected] : {std::pair{"--argtest-verbose=true", true}, std::pair{"--argtest-verbose=yes", true},
                                std::pair{"--argtest-verbose=on", true}, std::pair{"--argtest-verbose=1", true},
                                std::pair{"--argtest-verbose=false", false}, std::pair{"--argtest-verbose=no", false},
                                std::pair{"--argtest-verbose=off", false}, std::pair{"--argtest-verbose=0", false}}) {
    auto parsed = parse_all({text});
    ASSERT_TRUE(parsed.result) << text;
    EXPECT_EQ(verbose_flag.value(), expected) << text;
  }
  EXPECT_TRUE(verbose_flag.is_flag());
  EXPECT_FALSE(port_arg.is_flag());
}

TEST_F(Args, BadFlagValueNamesTheArgument) {
  auto parsed = parse_all({"--argtest-verbose=maybe"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.result.error().code, Errc::invalid_argument);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-verbose=maybe': expected true or false");
}

TEST_F(Args, UnknownArgumentNamed) {
  auto parsed = parse_all({"--argtest-port=1", "--no-such-thing=3"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.result.error().code, Errc::invalid_argument);
  EXPECT_EQ(parsed.diagnostics, "unknown argument '--no-such-thing' (see --help)");
}

TEST_F(Args, MalformedValueNamesTheArgument) {
  auto parsed = parse_all({"--argtest-port=eighty"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-port=eighty': expected a decimal number");
  EXPECT_EQ(port_arg.value(), 80);
}

TEST_F(Args, OutOfRangeValueNamesTheArgument) {
  auto parsed = parse_all({"--argtest-port=65536"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-port=65536': number out of range");
  parsed = parse_all({"--argtest-ttl=256"});
  ASSERT_FALSE(parsed.result);
  EXPECT_NE(parsed.diagnostics.find("--argtest-ttl=256"), std::string::npos);
  EXPECT_FALSE(parse_all({"--argtest-bytes=18446744073709551616"}).result);
  EXPECT_FALSE(parse_all({"--argtest-window=4294967296"}).result);
}

TEST_F(Args, EmptyNumberRejected) {
  auto parsed = parse_all({"--argtest-port="});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-port=': expected a number");
}

TEST_F(Args, SignsAndSpacesAreNotNumbers) {
  for (std::string_view text : {"--argtest-port=-1", "--argtest-port=+1", "--argtest-port= 1", "--argtest-port=1x"})
    EXPECT_FALSE(parse_all({text}).result) << text;
}

TEST_F(Args, ValueRequired) {
  auto parsed = parse_all({"--argtest-port"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-port' needs a value: --argtest-port=VALUE");
}

TEST_F(Args, NotAnOption) {
  for (std::string_view text : {"argtest-port=1", "-argtest-port=1", "--"}) {
    auto parsed = parse_all({text});
    ASSERT_FALSE(parsed.result) << text;
    EXPECT_EQ(parsed.diagnostics, "argument '" + std::string(text) + "': expected --name=value (see --help)");
  }
}

TEST_F(Args, GivenTwiceRejected) {
  auto parsed = parse_all({"--argtest-port=1", "--argtest-port=2"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-port' given twice");
  parsed = parse_all({"--argtest-verbose", "--argtest-verbose=false"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics, "argument '--argtest-verbose' given twice");
}

TEST_F(Args, DefaultsRestoredBetweenParses) {
  ASSERT_TRUE(parse_all({"--argtest-port=9", "--argtest-verbose", "--argtest-limit=3", "--argtest-name=x"}).result);
  EXPECT_EQ(port_arg.value(), 9);
  ASSERT_TRUE(parse_all({"--argtest-ttl=1"}).result);
  EXPECT_EQ(port_arg.value(), 80);
  EXPECT_FALSE(port_arg.given());
  EXPECT_FALSE(verbose_flag.value());
  EXPECT_FALSE(limit_arg.value().has_value());
  EXPECT_EQ(name_arg.value(), "morgana");
  EXPECT_EQ(ttl_arg.value(), 1);
  // A failed parse also starts from the defaults, and the next one is not "given twice".
  EXPECT_FALSE(parse_all({"--argtest-port=5", "--bogus"}).result);
  ASSERT_TRUE(parse_all({"--argtest-port=6"}).result);
  EXPECT_EQ(port_arg.value(), 6);
}

TEST_F(Args, ParseValueDirectly) {
  std::uint8_t small = 0;
  EXPECT_TRUE(parse_value("0", small));
  EXPECT_EQ(small, 0);
  EXPECT_TRUE(parse_value("255", small));
  EXPECT_EQ(small, 255);
  EXPECT_FALSE(parse_value("256", small));
  EXPECT_EQ(small, 255); // unchanged on failure
  EXPECT_TRUE(parse_value("007", small));
  EXPECT_EQ(small, 7);
  std::uint16_t medium = 0;
  EXPECT_TRUE(parse_value("65535", medium));
  EXPECT_FALSE(parse_value("99999", medium));
  bool flag = false;
  EXPECT_FALSE(parse_value("TRUE", flag));
  std::optional<std::uint8_t> maybe;
  EXPECT_FALSE(parse_value("x", maybe));
  EXPECT_FALSE(maybe.has_value());
  EXPECT_TRUE(parse_value("9", maybe));
  EXPECT_EQ(maybe, std::optional<std::uint8_t>{9});
}

TEST_F(Args, HelpListsNamesAndDefaultsSorted) {
  Sink sink;
  print_help(sink, Group::morgana);
  const auto& help = sink.text;
  EXPECT_NE(help.find("  --argtest-port=VALUE\n      port to listen on (default: 80)\n"), std::string::npos) << help;
  EXPECT_NE(help.find("  --argtest-verbose\n      say more (default: false)\n"), std::string::npos);
  EXPECT_NE(help.find("  --argtest-name=VALUE\n      a name (default: morgana)\n"), std::string::npos);
  EXPECT_NE(help.find("  --argtest-limit=VALUE\n      an optional limit (default: (none))\n"), std::string::npos);
  // Sorted by name, each listed once.
  std::array names{"--argtest-bytes=", "--argtest-limit=",  "--argtest-name=",  "--argtest-port=",
                   "--argtest-ttl=",   "--argtest-verbose", "--argtest-window="};
  std::size_t previous = 0;
  for (auto* name : names) {
    auto at = help.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GE(at, previous) << name;
    EXPECT_EQ(help.find(name, at + 1), std::string::npos) << name;
    previous = at;
  }
  EXPECT_EQ(help.find("--argtest-app-port"), std::string::npos) << "an application setting in the other group";
  // A value given at boot does not change the listing; a configured one is listed beside the default.
  ASSERT_TRUE(parse_all({"--argtest-port=1"}).result);
  Sink after;
  print_help(after, Group::morgana);
  EXPECT_EQ(after.text, help);
  ASSERT_TRUE(parse_all({}, {"--argtest-port=2"}).result);
  Sink configured;
  print_help(configured, Group::morgana);
  EXPECT_NE(configured.text.find("  --argtest-port=VALUE\n      port to listen on (default: 80; configured: 2)\n"),
            std::string::npos)
      << configured.text;
}

TEST_F(Args, HelpListsApplicationSettingsApart) {
  Sink sink;
  print_help(sink, Group::application);
  EXPECT_EQ(sink.text, "  --argtest-app-port=VALUE\n      an application's port (default: 8080)\n");
}

TEST_F(Args, ConfiguredArgumentsAreDefaultsThatBootArgumentsOverride) {
  auto parsed = parse_all({"--argtest-port=2"}, {"--argtest-port=1", "--argtest-ttl=5"});
  ASSERT_TRUE(parsed.result) << parsed.diagnostics;
  EXPECT_EQ(port_arg.value(), 2);
  EXPECT_EQ(ttl_arg.value(), 5);
  EXPECT_TRUE(ttl_arg.given());
  EXPECT_TRUE(ttl_arg.configured());
  EXPECT_FALSE(port_arg.configured());
  // Parsing again starts from the built-in defaults.
  ASSERT_TRUE(parse_all({}).result);
  EXPECT_EQ(ttl_arg.value(), 64);
  EXPECT_FALSE(ttl_arg.given());
}

TEST_F(Args, BadConfiguredArgumentIsNamedAsConfigured) {
  auto parsed = parse_all({}, {"--argtest-ttl=300"});
  ASSERT_FALSE(parsed.result);
  EXPECT_EQ(parsed.diagnostics.find("configured argument '--argtest-ttl=300'"), 0u) << parsed.diagnostics;
  parsed = parse_all({}, {"--argtest-ttl=1", "--argtest-ttl=2"});
  ASSERT_FALSE(parsed.result);
  EXPECT_NE(parsed.diagnostics.find("configured argument '--argtest-ttl' given twice"), std::string::npos);
}

TEST_F(Args, DefaultsFromText) {
  EXPECT_EQ(parse_default<std::uint16_t>("443"), 443);
  EXPECT_EQ(parse_default<std::chrono::nanoseconds>("2min"), std::chrono::minutes(2));
}

TEST_F(Args, EveryDeclaredArgumentIsRegistered) {
  std::size_t found = 0;
  for (auto* a = first(); a; a = a->next())
    if (a->name().starts_with("argtest-")) ++found;
  EXPECT_EQ(found, 8u);
}

} // namespace
} // namespace morgana::args
