#include "morgana/core/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace morgana::args {
namespace {

struct Split {
  std::vector<std::string> words;
  bool ok = true;
  std::string unterminated;
};

Split split(std::string line) {
  Split result;
  CommandLine words(line);
  while (true) {
    auto word = words.next();
    if (!word) {
      result.ok = false;
      result.unterminated = words.unterminated();
      EXPECT_EQ(word.error(), Errc::invalid_argument);
      break;
    }
    if (!*word) break;
    result.words.emplace_back(**word);
  }
  return result;
}

using Words = std::vector<std::string>;

TEST(CommandLine, SplitsAtSpacesTabsAndNewlines) {
  EXPECT_EQ(split("").words, Words{});
  EXPECT_EQ(split("   \t\n").words, Words{});
  EXPECT_EQ(split("--a=1  --b").words, (Words{"--a=1", "--b"}));
  EXPECT_EQ(split("\t--a=1\n--b ").words, (Words{"--a=1", "--b"}));
}

TEST(CommandLine, QuotesGroupAndAreRemoved) {
  // The two forms Linux documents, and the one ./morgana writes.
  EXPECT_EQ(split("--name=\"full stack engineer\" --port=80").words,
            (Words{"--name=full stack engineer", "--port=80"}));
  EXPECT_EQ(split("\"--name=full stack engineer\" --port=80").words,
            (Words{"--name=full stack engineer", "--port=80"}));
  // Quotes anywhere in a word; tabs and newlines inside them are kept.
  EXPECT_EQ(split("--a=x\"y z\"w --b=\"\"").words, (Words{"--a=xy zw", "--b="}));
  EXPECT_EQ(split("--a=\"1\t2\n3\"").words, (Words{"--a=1\t2\n3"}));
  EXPECT_EQ(split("\"\"").words, (Words{""}));
  // Two quoted parts make one word when nothing separates them.
  EXPECT_EQ(split("--a=\"b c\"\"d e\" f").words, (Words{"--a=b cd e", "f"}));
}

TEST(CommandLine, AnUnterminatedQuoteFailsNamingTheWordAsWritten) {
  auto result = split("--port=80 --name=\"full stack engineer --tls=443");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.words, Words{"--port=80"});
  EXPECT_EQ(result.unterminated, "--name=\"full stack engineer --tls=443");
  result = split("--a=\"b\" \"");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.words, Words{"--a=b"});
  EXPECT_EQ(result.unterminated, "\"");
}

TEST(CommandLine, EndsAfterAFailure) {
  std::string line = "--a=\"b --c";
  CommandLine words(line);
  EXPECT_FALSE(words.next());
  auto after = words.next();
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

} // namespace
} // namespace morgana::args
