#pragma once

// What the code tools/appgen generates from an application's morgana.toml
// defines, for the boot layer (app/boot.cpp).

#include <string_view>

#include "morgana/app/context.h"
#include "morgana/core/log.h"

namespace morgana::boot {

// The manifest's one-line description, for --help.
extern const std::string_view description;
// The application's log source, named after its directory (Context::log()).
extern log::Source app_log;
// Boot arguments baked in by ./morgana configure ("--tls=443 --name=\"a b\""),
// a command line as pvh's (core/command_line.h), parsed before those given at
// boot, which override them.
extern const std::string_view configured_arguments;

// Checks the declared stores, reads the settings and runs app_main.
[[nodiscard]] Task<Result<void>> start(Context& base);

} // namespace morgana::boot
