#pragma once

// Small helpers for the TLS tests.

#include <string>

#include "morgana/core/event_loop.h"
#include "morgana/core/result.h"

namespace morgana::tls::test_support {

// "closed: TLS: connection closed", for gtest messages.
inline std::string describe(const Error& error) {
  return std::string(error.name()) + ": " + std::string(error.context);
}

// Lets the other side run until `duration` of virtual time has passed.
inline void settle(Duration duration) {
  loop().run([](Duration d) -> Task<void> { (void)co_await sleep_for(d); }(duration));
}

} // namespace morgana::tls::test_support
