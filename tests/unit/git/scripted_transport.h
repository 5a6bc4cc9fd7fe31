#pragma once

// A Transport for the git tests that replays scripted bytes: an
// advertisement per open() and one response per send(), `chunk` bytes per
// read; records what the client sent. With the responses of a v2 server
// built from a head and a pack.

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/git/transport.h"

namespace morgana::git::test {

class ScriptedTransport final : public Transport {
public:
  std::string advertisement_v2;
  std::string advertisement_v0;
  std::vector<std::string> responses;
  std::vector<std::string> requests;
  std::vector<ProtocolVersion> opens;
  std::size_t chunk = 7;
  int closes = 0;

  Task<Result<void>> open(ProtocolVersion version, Instant) override {
    opens.push_back(version);
    m_current = version == ProtocolVersion::v2 ? advertisement_v2 : advertisement_v0;
    m_position = 0;
    co_return Result<void>{};
  }
  Task<Result<void>> send(Bytes request, Instant) override {
    requests.emplace_back(as_string(request));
    if (m_next >= responses.size()) co_return fail(Errc::closed, "script ended");
    m_current = responses[m_next++];
    m_position = 0;
    co_return Result<void>{};
  }
  Task<Result<Bytes>> read(Instant) override {
    auto count = std::min(chunk, m_current.size() - m_position);
    Bytes piece = as_bytes(std::string_view(m_current).substr(m_position, count));
    m_position += count;
    co_return piece;
  }
  void close() override { ++closes; }

private:
  std::string m_current;
  std::size_t m_position = 0;
  std::size_t m_next = 0;
};

inline std::string pkt(std::string_view payload) {
  char length[5];
  std::snprintf(length, sizeof length, "%04zx", payload.size() + 4);
  return std::string(length) + std::string(payload);
}

// An ls-refs response: HEAD pointing at refs/heads/main at `head`.
inline std::string ls_refs_response(std::string_view head) {
  return pkt(std::string(head) + " HEAD symref-target:refs/heads/main\n") +
         pkt(std::string(head) + " refs/heads/main\n") + "0000";
}

// A v2 fetch response carrying `pack` on side-band channel 1.
inline std::string fetch_response(const std::vector<std::byte>& pack, bool complete = true) {
  std::string bytes(reinterpret_cast<const char*>(pack.data()), pack.size());
  std::string response = pkt("packfile\n");
  for (std::size_t offset = 0; offset < bytes.size(); offset += 1000)
    response += pkt("\1" + bytes.substr(offset, 1000));
  return complete ? response + "0000" : response;
}

} // namespace morgana::git::test
