#pragma once

// Markdown to HTML through cmark-gfm: CommonMark with GitHub's tables,
// strikethrough, autolinks, task lists and footnotes.
//
//   auto html = TRY(markdown::render_html(post));
//
// For content the image's owner writes (blog posts): raw HTML in the input is
// kept as it is, not escaped or filtered. Fenced code keeps the first word of
// its info string as class="language-X", for highlighting in the browser.
// Synchronous: the whole document is parsed and rendered in one call.
//
// Not for untrusted input: Debian's cmark-gfm 0.29.0.gfm.6 predates the fixes
// for its quadratic cases (CVE-2023-22483 and later), e.g. "![[]()" repeated or
// a table row of thousands of cells: 120 KB of either takes seconds, and the
// time grows with the square of the size. Memory stays bounded (max_memory).

#include <cstddef>
#include <string>
#include <string_view>

#include "morgana/core/result.h"

namespace morgana::markdown {

struct MarkdownOptions {
  // Longer input is refused with Errc::limit_reached before parsing.
  std::size_t max_input = 4 * 1024 * 1024;
  // What cmark-gfm may hold at once while parsing and rendering (its tree,
  // buffers and the HTML); beyond it, Errc::no_memory. Output can grow much
  // faster than input (a table pads every row to its header's width), so this
  // bounds it too. Input made of the smallest nodes ("a\n" lines, "[[[") takes
  // up to about 300 bytes per input byte; prose takes a few.
  std::size_t max_memory = 32 * 1024 * 1024;
  // Typographic quotes and dashes ("smart punctuation"); off, as in Canopy.
  bool smart = false;
};

// The HTML of a Markdown document. Errc::limit_reached for input over
// max_input, Errc::no_memory when max_memory or the heap runs out.
[[nodiscard]] Result<std::string> render_html(std::string_view markdown, const MarkdownOptions& options = {});

// The plain text of the document's first paragraph, for a summary: the text of
// its inline markup (emphasis, code, links, images' descriptions), line breaks
// as spaces, inline HTML left out; at most max_length bytes, cut between UTF-8
// characters. Empty when there is no paragraph. Errors as render_html's.
[[nodiscard]] Result<std::string> first_paragraph_text(std::string_view markdown, std::size_t max_length,
                                                       const MarkdownOptions& options = {});

} // namespace morgana::markdown
