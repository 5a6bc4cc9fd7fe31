#pragma once

#include "morgana/core/task.h"

namespace morgana {

// The application's entry point, defined once per app: its exit status.
Task<int> app_main();

namespace boot {

// What every target's entry code calls after the platform is up: parses boot
// arguments (stopping the image with a message naming a bad one, or printing
// --help), applies --logs, starts devices, runs app_main on the event loop,
// prints the counters and returns the exit status.
int run();

} // namespace boot
} // namespace morgana
