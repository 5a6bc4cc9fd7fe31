// Plays arbitrary bytes as everything a git server sends on one connection
// (advertisement, then the responses) to the client: list_refs, then a fetch
// of the first listed id. The input's first byte picks the protocol asked for
// and how many bytes each read returns. Checks that every call ends (the
// script ends the stream), that a failure leaves a sentence in last_error(),
// and that a fetch reports exactly the pack bytes its sink received.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "morgana/core/event_loop.h"
#include "morgana/git/client.h"

using namespace morgana;
using namespace morgana::git;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// One stream for the whole exchange, as git:// is.
class ReplayTransport final : public Transport {
public:
  ReplayTransport(Bytes input, std::size_t chunk) : m_input(input), m_chunk(chunk) {}

  Task<Result<void>> open(ProtocolVersion, Instant) override {
    if (m_opened++ > 0) co_return fail(Errc::closed, "replay is over");
    co_return Result<void>{};
  }
  Task<Result<void>> send(Bytes, Instant) override { co_return Result<void>{}; }
  Task<Result<Bytes>> read(Instant) override {
    auto count = std::min(m_chunk, m_input.size());
    auto piece = m_input.first(count);
    m_input = m_input.subspan(count);
    co_return piece;
  }
  void close() override {}

private:
  Bytes m_input;
  std::size_t m_chunk;
  int m_opened = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto version = data[0] & 1 ? ProtocolVersion::v0 : ProtocolVersion::v2;
  std::size_t chunk = 1 + (data[0] >> 1) % 128;
  ReplayTransport transport(Bytes(reinterpret_cast<const std::byte*>(data + 1), size - 1), chunk);
  Client client(transport, {.protocol = version});
  auto deadline = MonotonicClock::now() + std::chrono::seconds(10);
  auto refs = loop().run(client.list_refs({}, deadline));
  if (!refs) {
    check(!client.last_error().empty());
    return 0;
  }
  std::string id(40, 'a');
  for (const auto& ref : *refs) {
    check(ref.id.empty() || is_object_id(ref.id));
    if (!ref.id.empty()) id = ref.id;
  }
  std::uint64_t delivered = 0;
  auto fetched = loop().run(client.fetch(
      {.wants = {id}},
      [&](Bytes pack) -> Result<void> {
        delivered += pack.size();
        return {};
      },
      deadline));
  if (fetched) check(fetched->pack_bytes == delivered);
  else check(!client.last_error().empty());
  loop().destroy_spawned();
  return 0;
}
