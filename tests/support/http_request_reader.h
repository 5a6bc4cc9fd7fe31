#pragma once

// Scripted HTTP servers in unit tests read requests with this: the head, and
// a body by Content-Length (no chunked bodies; the clients under test send none).

#include <cstddef>
#include <string>

#include "morgana/core/task.h"
#include "morgana/net/network.h"

namespace morgana::test_support {

// Reads one request from `stream` into `request`, keeping what follows it in
// `buffer`; false at the end of the stream.
inline Task<bool> read_http_request(net::Stream& stream, std::string& buffer, std::string& request) {
  std::byte chunk[4096];
  for (;;) {
    auto head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t length = 0;
      auto field = buffer.substr(0, head_end).find("Content-Length: ");
      if (field != std::string::npos) length = std::stoul(buffer.substr(field + 16));
      if (buffer.size() >= head_end + 4 + length) {
        request = buffer.substr(0, head_end + 4 + length);
        buffer.erase(0, request.size());
        co_return true;
      }
    }
    auto count = co_await stream.read(chunk);
    if (!count || *count == 0) co_return false;
    buffer.append(reinterpret_cast<const char*>(chunk), *count);
  }
}

} // namespace morgana::test_support
