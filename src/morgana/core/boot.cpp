#include "morgana/core/boot.h"

#include "morgana/core/args.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/platform/interface.h"

namespace morgana::boot {
namespace {

args::Flag help_arg{"help", "print every boot argument with its default, then exit", false};
args::Option<std::string_view> logs_arg{"logs", "log levels per source, e.g. arp:debug,*:info", "*:info"};
args::Flag counters_arg{"counters", "print all counters, also those at zero, at exit", false};

} // namespace

int run() {
  StringBuilder<512> diagnostics;
  if (!args::parse(platform::boot_arguments(), diagnostics)) {
    format_to(diagnostics, "\nmorgana: stopping: bad boot argument\n");
    platform::console_write(diagnostics.view());
    return 2;
  }
  // Large outputs (help, counters) go to the console in pieces.
  platform::ConsoleSink console;
  if (help_arg.value()) {
    console.write("Boot arguments (--name=VALUE):\n");
    args::print_help(console);
    return 0;
  }
  if (auto configured = log::configure(logs_arg.value()); !configured) {
    format_to(console, "argument '--logs={}': {}\nmorgana: stopping: bad boot argument\n", logs_arg.value(),
              configured.error().context);
    return 2;
  }
  if (auto started = platform::start_devices(); !started) {
    // invalid_argument: a value the platform refused (a tap name, a --store directory).
    format_to(console, "morgana: stopping: {}: {}\n",
              started.error() == Errc::invalid_argument ? "bad boot argument" : "cannot start devices",
              started.error());
    return 2;
  }
  int status = loop().run(app_main());
  loop().destroy_spawned();
  console.write("counters:\n");
  Counter::print_all(console, counters_arg.value());
  format_to(console, "morgana: exit status {}\n", status);
  return status;
}

} // namespace morgana::boot
