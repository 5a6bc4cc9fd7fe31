#include "options.h"

#include <charconv>
#include <cmath>
#include <string_view>
#include <utility>
#include <vector>

namespace netimpair {

const char* const help_text = R"(usage: netimpair --a=LINK --b=LINK [options]

Forwards Ethernet frames between two links and impairs the IPv4 ones: drop,
duplicate, reorder, delay. Every random decision comes from --seed, so a run
that failed replays with the same seed and the same frames.

Links:
  --a=LINK, --b=LINK      TAPNAME (an existing tap, e.g. made by `ip tuntap add`)
                          or packet:IFNAME (any interface, through AF_PACKET)
  --a-netns=NS, --b-netns=NS
                          open that link inside network namespace NS (a name
                          under /run/netns, or a path such as /proc/PID/ns/net)

Impairments (both directions; unicast IPv4 frames only unless --no-spare-arp):
  --drop=PERCENT          drop this share of frames
  --dup=PERCENT           send this share of frames twice
  --reorder=PERCENT       hold this share of frames back...
  --reorder-gap=N         ...until N later frames went out (default 3)...
  --reorder-timeout=TIME  ...or TIME passed (default 20ms)
  --delay=TIME            delay every frame by TIME (default 0)
  --jitter=TIME           vary the delay uniformly within delay ± TIME; frames
                          then overtake each other, as in netem
  --a-to-b-drop=PERCENT, --b-to-a-drop=PERCENT, ... (any impairment above)
                          one direction only; wins over the option for both
Other:
  --seed=N                seed of the decisions (default: random, printed)
  --spare-arp             pass ARP, other non-IPv4 and multicast/broadcast frames unimpaired (default)
  --no-spare-arp          impair every frame
  --queue-limit=N         frames in flight per direction; more are dropped and
                          counted as queue_full (default 20000)
  --verbose               one line per IPv4 frame on stderr with its decisions
  --help                  this text

TIME is a number with ns, us, ms or s (ms when none). PERCENT is 0 to 100.
SIGUSR1 prints the counters; SIGTERM and SIGINT print them and exit 0.
)";

namespace {

using Error = std::unexpected<std::string>;

Error error(std::string_view what, std::string_view value) {
  return Error(std::string(what) + " '" + std::string(value) + "'");
}

std::expected<double, std::string> parse_number(std::string_view text, std::string_view& rest) {
  double number = 0;
  auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (status != std::errc{} || !std::isfinite(number)) return error("not a number:", text);
  rest = text.substr(static_cast<std::size_t>(end - text.data()));
  return number;
}

std::expected<double, std::string> parse_percent(std::string_view text) {
  std::string_view rest;
  auto number = parse_number(text, rest);
  if (!number) return std::unexpected(number.error());
  if (rest == "%") rest = {};
  if (!rest.empty() || *number < 0 || *number > 100) return error("not a percentage from 0 to 100:", text);
  return *number;
}

std::expected<Nanoseconds, std::string> parse_time(std::string_view text) {
  std::string_view unit;
  auto number = parse_number(text, unit);
  if (!number) return std::unexpected(number.error());
  double scale = 0;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit.empty() || unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  else return error("unknown time unit (ns, us, ms, s) in", text);
  double nanoseconds = *number * scale;
  if (nanoseconds < 0 || nanoseconds > 3600e9) return error("time out of range (0 to 1 hour):", text);
  return static_cast<Nanoseconds>(std::llround(nanoseconds));
}

std::expected<std::uint64_t, std::string> parse_unsigned(std::string_view text) {
  std::uint64_t number = 0;
  auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (status != std::errc{} || end != text.data() + text.size()) return error("not an unsigned integer:", text);
  return number;
}

std::expected<LinkSpec, std::string> parse_link(std::string_view text) {
  LinkSpec spec;
  constexpr std::string_view packet_prefix = "packet:";
  if (text.starts_with(packet_prefix)) {
    spec.kind = LinkKind::packet;
    text.remove_prefix(packet_prefix.size());
  }
  if (text.empty() || text.size() >= 16) return error("not an interface name (1 to 15 characters):", text);
  spec.interface = std::string(text);
  return spec;
}

// Sets one impairment field by its option name; false when `key` names none.
std::expected<bool, std::string> set_impairment(Impairment& impairment, std::string_view key, std::string_view value) {
  auto assign = [](auto& field, auto parsed) -> std::expected<bool, std::string> {
    if (!parsed) return std::unexpected(parsed.error());
    field = *parsed;
    return true;
  };
  if (key == "drop") return assign(impairment.drop_percent, parse_percent(value));
  if (key == "dup") return assign(impairment.duplicate_percent, parse_percent(value));
  if (key == "reorder") return assign(impairment.reorder_percent, parse_percent(value));
  if (key == "reorder-timeout") return assign(impairment.reorder_timeout, parse_time(value));
  if (key == "delay") return assign(impairment.delay, parse_time(value));
  if (key == "jitter") return assign(impairment.jitter, parse_time(value));
  if (key == "reorder-gap") {
    auto gap = parse_unsigned(value);
    if (!gap) return std::unexpected(gap.error());
    if (*gap < 1 || *gap > 1'000'000) return error("reorder gap out of range (1 to 1000000):", value);
    impairment.reorder_gap = static_cast<std::uint32_t>(*gap);
    return true;
  }
  return false;
}

std::expected<bool, std::string> parse_flag(std::string_view value, bool has_value) {
  if (!has_value || value == "1" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "no" || value == "off") return false;
  return error("not a yes/no value:", value);
}

} // namespace

std::expected<Options, std::string> parse_options(std::span<char* const> arguments) {
  Options options;
  // Per-direction options win over the both-directions ones wherever they appear.
  std::vector<std::pair<std::string_view, std::string_view>> a_to_b_overrides;
  std::vector<std::pair<std::string_view, std::string_view>> b_to_a_overrides;
  bool have_a = false;
  bool have_b = false;

  for (std::string_view argument : arguments) {
    if (argument == "-h" || argument == "--help") {
      options.help = true;
      continue;
    }
    if (!argument.starts_with("--")) return error("unexpected argument", argument);
    argument.remove_prefix(2);
    auto equals = argument.find('=');
    bool has_value = equals != std::string_view::npos;
    std::string_view key = argument.substr(0, equals);
    std::string_view value = has_value ? argument.substr(equals + 1) : std::string_view{};

    if (key == "verbose" || key == "spare-arp") {
      auto flag = parse_flag(value, has_value);
      if (!flag) return std::unexpected(flag.error());
      (key == "verbose" ? options.verbose : options.spare_non_ipv4) = *flag;
      continue;
    }
    if (key == "no-spare-arp" && !has_value) {
      options.spare_non_ipv4 = false;
      continue;
    }
    if (!has_value) return error("option needs a value (--name=value):", argument);

    if (key == "a" || key == "b") {
      auto link = parse_link(value);
      if (!link) return std::unexpected(link.error());
      LinkSpec& spec = key == "a" ? options.a : options.b;
      std::string netns = std::move(spec.netns);
      spec = std::move(*link);
      spec.netns = std::move(netns);
      (key == "a" ? have_a : have_b) = true;
    } else if (key == "a-netns" || key == "b-netns") {
      if (value.empty()) return error("empty namespace name:", argument);
      (key == "a-netns" ? options.a : options.b).netns = std::string(value);
    } else if (key == "seed") {
      auto seed = parse_unsigned(value);
      if (!seed) return std::unexpected(seed.error());
      options.seed = *seed;
      options.seed_given = true;
    } else if (key == "queue-limit") {
      auto limit = parse_unsigned(value);
      if (!limit) return std::unexpected(limit.error());
      if (*limit < 1 || *limit > 10'000'000) return error("queue limit out of range (1 to 10000000):", value);
      options.queue_limit = static_cast<std::size_t>(*limit);
    } else if (key.starts_with("a-to-b-")) {
      a_to_b_overrides.emplace_back(key.substr(7), value);
    } else if (key.starts_with("b-to-a-")) {
      b_to_a_overrides.emplace_back(key.substr(7), value);
    } else {
      auto known = set_impairment(options.a_to_b, key, value);
      if (!known) return std::unexpected(known.error());
      if (!*known) return error("unknown option", argument);
      (void)set_impairment(options.b_to_a, key, value); // parsed above: cannot fail
    }
  }

  for (auto [overrides, impairment] :
       {std::pair{&a_to_b_overrides, &options.a_to_b}, std::pair{&b_to_a_overrides, &options.b_to_a}}) {
    for (auto [key, value] : *overrides) {
      auto known = set_impairment(*impairment, key, value);
      if (!known) return std::unexpected(known.error());
      if (!*known) return error("unknown per-direction option", key);
    }
  }
  if (options.help) return options;
  if (!have_a || !have_b) return Error("both --a and --b are needed");
  return options;
}

} // namespace netimpair
