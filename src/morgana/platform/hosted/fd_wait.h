#pragma once

#include <poll.h>

#include "morgana/core/result.h"
#include "morgana/core/task.h"
#include "morgana/core/time.h"

namespace morgana::platform::hosted {

// Waits until the host file descriptor `fd` has any of `events` (POLLIN,
// POLLOUT), polled alongside the tap devices in yield. Errc::timed_out at the
// deadline.
[[nodiscard]] Task<Result<void>> wait_fd(int fd, short events, Instant deadline);

} // namespace morgana::platform::hosted
