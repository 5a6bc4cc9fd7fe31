#pragma once

// A minimal test client over a net::Stream: writes raw request text and
// reads responses with the response parser.

#include <memory>
#include <string>
#include <string_view>

#include "morgana/core/task.h"
#include "morgana/http/message_parser.h"
#include "morgana/net/network.h"

namespace morgana::http::test {

struct ReceivedResponse {
  Status status = Status::ok;
  Headers headers; // owned copies
  std::string body;
};

class TestClient {
public:
  explicit TestClient(std::unique_ptr<net::Stream> stream)
      : m_stream(std::move(stream)),
        m_parser(MUST(MessageParser::create(MessageParser::Kind::response, ParserLimits{.max_body = 1 << 26}))) {}

  net::Stream& stream() { return *m_stream; }

  Task<Result<void>> send(std::string text) { co_return co_await m_stream->write(as_bytes(text)); }

  // The next response; Errc::closed when the connection ended first,
  // Errc::malformed when it is not valid HTTP.
  Task<Result<ReceivedResponse>> receive(std::string_view method = "GET") {
    m_parser.set_request_method(method);
    ReceivedResponse response;
    for (;;) {
      auto event = m_parser.next();
      if (!event) co_return fail(Errc::malformed, event.error().reason);
      switch (event->type) {
      case MessageParser::Event::Type::need_more: {
        auto count = CO_TRY(co_await m_stream->read(m_parser.free_space()));
        if (count == 0) m_parser.end_of_input();
        else m_parser.commit(count);
        break;
      }
      case MessageParser::Event::Type::head:
        response.status = m_parser.response_head().status;
        response.headers = m_parser.response_head().headers;
        break;
      case MessageParser::Event::Type::body:
        response.body.append(reinterpret_cast<const char*>(event->data.data()), event->data.size());
        break;
      case MessageParser::Event::Type::end: co_return response;
      case MessageParser::Event::Type::closed: co_return fail(Errc::closed);
      }
    }
  }

private:
  std::unique_ptr<net::Stream> m_stream;
  MessageParser m_parser;
};

} // namespace morgana::http::test
