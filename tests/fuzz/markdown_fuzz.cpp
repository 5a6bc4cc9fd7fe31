// Renders the input as Markdown (the blog's page renderer) and checks that
// rendering is a function of the input alone: a second render gives the same
// HTML, and a render under a memory budget (taken from the first byte) either
// gives that HTML too or stops with Errc::no_memory, leaking nothing
// (AddressSanitizer's leak check) and leaving the next call unaffected.
// Input over max_input is refused without being parsed. first_paragraph_text
// (the summary) under the same checks, with a length limit from the last byte.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "morgana/markdown/markdown.h"

using namespace morgana;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto html = markdown::render_html(input);
  check(html.has_value()); // libFuzzer's inputs are far below the default limits
  auto again = markdown::render_html(input);
  check(again.has_value() && *again == *html);

  std::size_t budget = size ? std::size_t{data[0]} * 256 : 0;
  auto limited = markdown::render_html(input, {.max_memory = budget});
  if (limited) check(*limited == *html);
  else check(limited.error() == Errc::no_memory);

  if (size > 0) {
    auto refused = markdown::render_html(input, {.max_input = size - 1});
    check(!refused && refused.error() == Errc::limit_reached);
  }

  std::size_t max_length = size ? data[size - 1] : 0;
  auto text = markdown::first_paragraph_text(input, max_length);
  check(text.has_value() && text->size() <= max_length);
  auto limited_text = markdown::first_paragraph_text(input, max_length, {.max_memory = budget});
  if (limited_text) check(*limited_text == *text);
  else check(limited_text.error() == Errc::no_memory);
  return 0;
}
