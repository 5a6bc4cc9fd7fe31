#include "morgana/platform/pvh/boot_arguments.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace morgana::pvh {
namespace {

std::vector<std::string_view> arguments(const BootArguments& split) {
  return {split.arguments, split.arguments + split.argument_count};
}

std::vector<std::string_view> mmio(const BootArguments& split) {
  return {split.mmio_arguments, split.mmio_arguments + split.mmio_argument_count};
}

TEST(BootArguments, QuotedWordsAndMicrovmsDeviceList) {
  // What QEMU's microvm passes for -append '--name="full stack engineer" --tls=443'.
  std::string line = "--name=\"full stack engineer\" --tls=443 virtio_mmio.device=512@0xfeb00e00:12 "
                     "virtio_mmio.force_legacy=1 virtio_mmio.device=512@0xfeb00c00:11";
  auto split = split_boot_arguments(line);
  EXPECT_TRUE(split.unterminated.empty());
  EXPECT_EQ(arguments(split), (std::vector<std::string_view>{"--name=full stack engineer", "--tls=443"}));
  EXPECT_EQ(mmio(split), (std::vector<std::string_view>{"virtio_mmio.device=512@0xfeb00e00:12",
                                                        "virtio_mmio.device=512@0xfeb00c00:11"}));
  EXPECT_EQ(split.ignored_arguments, 0u);
}

TEST(BootArguments, AnUnterminatedQuoteIsReported) {
  std::string line = "--tls=443 \"--name=full stack";
  auto split = split_boot_arguments(line);
  EXPECT_EQ(split.unterminated, "\"--name=full stack");
  EXPECT_EQ(arguments(split), std::vector<std::string_view>{"--tls=443"});
}

TEST(BootArguments, ArgumentsBeyondTheLimitAreCountedNotKept) {
  std::string line;
  for (std::size_t i = 0; i < BootArguments::max_arguments + 3; ++i) line += "--a ";
  auto split = split_boot_arguments(line);
  EXPECT_EQ(split.argument_count, BootArguments::max_arguments);
  EXPECT_EQ(split.ignored_arguments, 3u);
}

} // namespace
} // namespace morgana::pvh
