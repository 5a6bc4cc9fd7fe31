#include "morgana/core/net_offload.h"

#include "morgana/core/args.h"

namespace morgana {
namespace {

constexpr NetOffloads all_offloads{true, true, true, true};

// A device uses every offload it has unless told otherwise; each is optional
// (tests/system/tap_offload_test.py and pvh_offload_test.py run with each off).
args::Option<NetOffloads> offload_arg{
    "offload",
    "network device offloads to use when the device has them: all, none, or a list of tx-csum,rx-csum,tso,gro",
    all_offloads};

} // namespace

void NetOffloads::format(FormatSink& sink) const {
  if (*this == all_offloads || *this == NetOffloads{}) {
    sink.write(*this == all_offloads ? "all" : "none");
    return;
  }
  std::string_view separator;
  auto name = [&](bool on, std::string_view text) {
    if (!on) return;
    sink.write(separator);
    sink.write(text);
    separator = ",";
  };
  name(tx_checksum, "tx-csum");
  name(rx_checksum, "rx-csum");
  name(tso4, "tso");
  name(gro4, "gro");
}

Result<void> parse_value(std::string_view text, NetOffloads& out) {
  if (text == "all") {
    out = all_offloads;
    return {};
  }
  NetOffloads parsed;
  if (text != "none") {
    // Every word must name an offload: an empty one ("tso,,gro", a trailing comma) too is refused.
    std::size_t start = 0;
    while (true) {
      auto comma = text.find(',', start);
      auto word = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (word == "tx-csum") parsed.tx_checksum = true;
      else if (word == "rx-csum") parsed.rx_checksum = true;
      else if (word == "tso") parsed.tso4 = true;
      else if (word == "gro") parsed.gro4 = true;
      else return fail(Errc::invalid_argument, "unknown offload (all, none, or a list of tx-csum,rx-csum,tso,gro)");
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  if (parsed.tso4 && !parsed.tx_checksum) return fail(Errc::invalid_argument, "tso needs tx-csum");
  if (parsed.gro4 && !parsed.rx_checksum) return fail(Errc::invalid_argument, "gro needs rx-csum");
  out = parsed;
  return {};
}

NetOffloads allowed_net_offloads() { return offload_arg.value(); }

} // namespace morgana
