// Feeds arbitrary bytes to the HTTP message parser in arbitrary pieces and
// checks what an incremental parser promises: the same input split
// differently (whole, byte by byte, or pieces chosen by the input) gives the
// same heads, bodies and error; the parser never stalls with input left;
// every field it returns is a token name with a value free of CR, LF and
// NUL; and a path it accepts normalizes to one that cannot climb above the
// root. The first input byte picks the piece sizes and requests or responses.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../unit/http/parser_driver.h"
#include "morgana/http/message_parser.h"
#include "morgana/http/target.h"

using namespace morgana;
using namespace morgana::http;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Heads straight from a whole-buffer parse, checked field by field.
void check_heads(std::string_view input, MessageParser::Kind kind, const ParserLimits& limits) {
  auto parser = MessageParser::create(kind, limits);
  check(parser.has_value());
  std::size_t fed = 0;
  for (int steps = 0; steps < 100'000; ++steps) {
    auto event = parser->next();
    if (!event) return;
    switch (event->type) {
    case MessageParser::Event::Type::need_more: {
      if (fed == input.size()) {
        parser->end_of_input();
        break;
      }
      auto space = parser->free_space();
      check(!space.empty());
      auto count = std::min(space.size(), input.size() - fed);
      std::memcpy(space.data(), input.data() + fed, count);
      parser->commit(count);
      fed += count;
      break;
    }
    case MessageParser::Event::Type::head: {
      const auto& headers =
          kind == MessageParser::Kind::request ? parser->request_head().headers : parser->response_head().headers;
      for (const auto& field : headers) {
        check(is_token(field.name));
        check(field.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
      }
      if (kind == MessageParser::Kind::request) {
        const auto& head = parser->request_head();
        check(is_token(head.method));
        check(head.version != Version::http_1_1 || head.headers.count("Host") == 1);
        if (head.parsed_target.form != TargetForm::asterisk) {
          if (auto path = normalize_path(head.parsed_target.path)) {
            check(path->starts_with('/'));
            check(path->find("/../") == std::string::npos && !path->ends_with("/.."));
            check(path->find('\0') == std::string::npos);
          }
        }
      }
      break;
    }
    case MessageParser::Event::Type::body: check(parser->body_received() <= limits.max_body); break;
    case MessageParser::Event::Type::end: break;
    case MessageParser::Event::Type::closed: return;
    }
  }
  std::abort(); // no progress
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  unsigned control = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  auto kind = (control & 0x80) ? MessageParser::Kind::response : MessageParser::Kind::request;
  ParserLimits limits;
  limits.max_start_line = 256;
  limits.max_header_section = 1024;
  limits.max_fields = 16;
  limits.max_body = 4096;
  limits.chunked.max_extension = 64;
  limits.chunked.max_trailer_section = 256;

  auto expected = test::whole(input, kind, limits);
  // The driver's own verdicts end the transcript (heads and bodies end in '\n').
  check(!expected.ends_with("STUCK") && !expected.ends_with("FULL"));
  check(test::bytewise(input, kind, limits) == expected);
  // Piece sizes from a small generator seeded by the control byte.
  std::uint32_t state = control * 2654435761u + 1;
  auto pieces = test::transcript(
      input,
      [&](std::size_t) {
        state = state * 1664525u + 1013904223u;
        return std::size_t{1} + (state >> 16) % ((control & 0x7f) + 1);
      },
      kind, limits);
  check(pieces == expected);
  check_heads(input, kind, limits);
  return 0;
}
