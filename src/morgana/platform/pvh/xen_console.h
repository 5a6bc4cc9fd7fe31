#pragma once

// The Xen PV console: the page and event channel Xen names in
// HVM_PARAM_CONSOLE_PFN and HVM_PARAM_CONSOLE_EVTCHN, whose out ring
// xenconsoled copies to `xl console` and its log. Everything the image prints
// goes here on Xen; input (the in ring) is ignored.

#include <string_view>

#include "morgana/core/result.h"

namespace morgana::pvh::xen::console {

// Finds the console page and port. Needs xen::present().
Result<void> init();

// Whether init() succeeded: console output should come here.
bool ready();

// Queues `text` on the ring and signals xenconsoled; waits while the ring is
// full. If xenconsoled takes nothing for a long while, drops the rest (and
// later text) rather than hang the image.
void write(std::string_view text);

// Waits until xenconsoled has taken everything written (before shutdown).
void flush();

} // namespace morgana::pvh::xen::console
