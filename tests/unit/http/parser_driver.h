#pragma once

// Drives a MessageParser over a string fed in pieces and writes down what it
// produced, so tests can compare splits and expected transcripts.

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "morgana/http/message_parser.h"

namespace morgana::http::test {

// `piece(offset)` says how many bytes to feed next (at least 1).
inline std::string transcript(std::string_view input, const std::function<std::size_t(std::size_t)>& piece,
                              MessageParser::Kind kind = MessageParser::Kind::request, ParserLimits limits = {}) {
  auto parser = MessageParser::create(kind, limits);
  if (!parser) return "NO MEMORY";
  std::string out;
  std::string body;
  std::size_t fed = 0;
  bool ended = false;
  for (;;) {
    auto event = parser->next();
    if (!event) {
      out += "ERROR " + std::to_string(code(event.error().status));
      return out;
    }
    switch (event->type) {
    case MessageParser::Event::Type::need_more: {
      if (fed == input.size()) {
        if (ended) return out + "STUCK";
        parser->end_of_input();
        ended = true;
        break;
      }
      auto space = parser->free_space();
      if (space.empty()) return out + "FULL";
      auto count = std::min({std::max<std::size_t>(piece(fed), 1), space.size(), input.size() - fed});
      std::memcpy(space.data(), input.data() + fed, count);
      parser->commit(count);
      fed += count;
      break;
    }
    case MessageParser::Event::Type::head:
      if (kind == MessageParser::Kind::request) {
        const auto& head = parser->request_head();
        out += std::string(head.method) + " " + std::string(head.target) + " " +
               std::string(version_name(head.version)) + " host=" + std::string(head.host) + "\n";
        for (const auto& field : head.headers) out += std::string(field.name) + ": " + std::string(field.value) + "\n";
      } else {
        const auto& head = parser->response_head();
        out += std::to_string(code(head.status)) + " " + std::string(head.reason) + "\n";
        for (const auto& field : head.headers) out += std::string(field.name) + ": " + std::string(field.value) + "\n";
      }
      break;
    case MessageParser::Event::Type::body:
      body.append(reinterpret_cast<const char*>(event->data.data()), event->data.size());
      break;
    case MessageParser::Event::Type::end:
      out += "BODY[" + body + "]\nEND\n";
      body.clear();
      break;
    case MessageParser::Event::Type::closed: return out + "CLOSED";
    }
  }
}

inline std::string whole(std::string_view input, MessageParser::Kind kind = MessageParser::Kind::request,
                         ParserLimits limits = {}) {
  return transcript(input, [&](std::size_t) { return input.size(); }, kind, limits);
}

inline std::string bytewise(std::string_view input, MessageParser::Kind kind = MessageParser::Kind::request,
                            ParserLimits limits = {}) {
  return transcript(input, [](std::size_t) { return std::size_t{1}; }, kind, limits);
}

} // namespace morgana::http::test
