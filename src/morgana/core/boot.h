#pragma once

namespace morgana::boot {

// What every target's entry code calls after the platform is up: parses boot
// arguments (stopping the image with a message naming a bad one, or printing
// --help), applies --logs, starts devices, runs the application with its
// context, prints the counters and returns the exit status. Defined by the
// boot layer (app/boot.cpp), which sits above every library.
int run();

} // namespace morgana::boot
