#include "morgana/net/network.h"

#include <vector>

namespace morgana::net {
namespace {

// Up to this much is joined into one write: one segment or record instead of a
// second write that Nagle or a delayed ACK would hold back. Larger bodies cost
// more to copy than a second write does.
constexpr std::size_t join_limit = 16 * 1024;

} // namespace

Task<Result<void>> Stream::write_shared(Bytes head, SharedBytes body, Instant deadline) {
  if (head.empty() || body.data.empty() || head.size() + body.size() > join_limit) {
    if (!head.empty()) CO_TRY(co_await write(head, deadline));
    if (!body.data.empty()) CO_TRY(co_await write(body.data, deadline));
    co_return Result<void>{};
  }
  std::vector<std::byte> joined;
  joined.reserve(head.size() + body.size());
  joined.insert(joined.end(), head.begin(), head.end());
  joined.insert(joined.end(), body.data.begin(), body.data.end());
  co_return co_await write(joined, deadline);
}

Task<Result<void>> Stream::write_last(Bytes head, SharedBytes body, Instant deadline) {
  CO_TRY(co_await write_shared(head, std::move(body), deadline));
  co_return shutdown();
}

} // namespace morgana::net
