// Feeds arbitrary bytes to the xenstore client as xenstored's side of the
// response ring. The first byte picks a request type: the rest is parsed as
// one reply to it (header and payload), and then, from the start, streamed
// into the ring of a live client in pieces while it makes a fixed series of
// requests. Checks what callers rely on: a checked reply lies within the
// payload and has the request's shape (directory names non-empty, without
// '/' or NUL; a transaction id non-zero; "OK" for writes); every request
// ends (its deadline passes in virtual time); the client never takes more
// from the ring than was produced; once out of step it refuses every request.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

#include "morgana/platform/pvh/xen_store.h"
#include "morgana/platform/pvh/xen_store_message.h"

using namespace morgana;
using namespace morgana::pvh::xen;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::array request_types{store::Type::read, store::Type::write, store::Type::directory,
                                   store::Type::transaction_start, store::Type::transaction_end};

void check_reply_shape(store::Type type, Bytes payload, Bytes checked) {
  check(checked.data() == payload.data() && checked.size() == payload.size());
  switch (type) {
  case store::Type::directory: {
    store::Names names(checked);
    std::size_t total = 0;
    while (auto name = names.next()) {
      check(!name->empty());
      check(name->find('/') == std::string_view::npos && name->find('\0') == std::string_view::npos);
      total += name->size() + 1;
    }
    check(total == checked.size());
    break;
  }
  case store::Type::transaction_start: check(store::transaction_id(checked) != 0); break;
  case store::Type::read: break;
  default: check(as_string(checked) == std::string_view("OK\0", 3));
  }
}

// xenstored, reduced to the input: it takes whatever requests arrive and
// puts the next piece of the input in the response ring.
class ScriptedXen final : public Services {
public:
  ScriptedXen(std::span<std::byte> page, Bytes script) : m_page(page), m_script(script) {}

  Result<void> notify(std::uint32_t) override {
    step();
    return {};
  }
  Result<std::uint32_t> alloc_unbound(std::uint16_t) override { return 1; }
  void unmask(std::uint32_t) override {}
  bool take_pending(std::uint32_t) override { return false; }
  std::uint64_t gfn(const void*) const override { return 0; }
  std::int64_t now_ns() override { return m_now; }
  void wait(std::uint32_t, std::int64_t deadline_ns) override {
    step();
    m_now = std::max(m_now, std::min(deadline_ns, m_now + 1'000'000));
  }

  std::uint32_t produced() const { return m_produced; }

private:
  void step() {
    // Requests are taken as they come.
    std::uint32_t requests;
    std::memcpy(&requests, m_page.data() + Store::req_prod, 4);
    std::memcpy(m_page.data() + Store::req_cons, &requests, 4);
    std::uint32_t consumed;
    std::memcpy(&consumed, m_page.data() + Store::rsp_cons, 4);
    check(m_produced - consumed <= Store::ring_size); // never past what was produced
    if (m_script.empty()) return;
    // A piece of up to 64 bytes, as much as the ring takes.
    auto piece = std::min<std::size_t>({m_script.size(), 1 + std::to_integer<std::size_t>(m_script[0]) % 64,
                                        Store::ring_size - (m_produced - consumed)});
    for (std::size_t i = 0; i < piece; ++i)
      m_page[Store::response_ring + (m_produced + i) % Store::ring_size] = m_script[i];
    m_script = m_script.subspan(piece);
    m_produced += static_cast<std::uint32_t>(piece);
    std::memcpy(m_page.data() + Store::rsp_prod, &m_produced, 4);
  }

  std::span<std::byte> m_page;
  Bytes m_script;
  std::int64_t m_now = 0;
  std::uint32_t m_produced = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  auto type = request_types[data[0] % request_types.size()];
  auto rest = input.subspan(1);
  if (auto header = store::parse_header(rest)) {
    check(header->length <= store::payload_max);
    auto payload =
        rest.subspan(store::header_size, std::min<std::size_t>(header->length, rest.size() - store::header_size));
    if (auto checked = store::check_reply(type, *header, payload)) {
      check(header->type == static_cast<std::uint32_t>(type) && payload.size() == header->length);
      check_reply_shape(type, payload, *checked);
    }
  }

  alignas(4096) static std::byte page[4096];
  std::memset(page, 0, sizeof page);
  ScriptedXen xen(page, rest);
  Store client(page, xen, 1);
  constexpr std::int64_t step = 20'000'000;
  bool broken = false;
  for (int round = 0; round < 3; ++round) {
    auto deadline = xen.now_ns() + step;
    auto results = std::array<Error, 4>{};
    int failures = 0;
    if (auto value = client.read("device/vif/0/mac", deadline); !value) results[failures++] = value.error();
    else check(value->size() <= store::payload_max);
    if (auto names = client.directory("device", deadline); !names) results[failures++] = names.error();
    else
      while (auto name = names->next()) check(!name->empty());
    if (auto tx = client.transaction_start(deadline); !tx) results[failures++] = tx.error();
    else check(*tx != 0);
    if (auto written = client.write("data/x", "1", deadline); !written) results[failures++] = written.error();
    if (broken)
      for (int i = 0; i < failures; ++i) check(results[i] == Errc::closed);
    check(!broken || failures == 4);
    broken = client.broken();
    check(xen.now_ns() <= deadline);
  }
  return 0;
}
