#pragma once

// Escaping for text taken from article headers (titles, authors, abstracts,
// tags, URLs) before it goes into HTML pages or the Atom feed.
//
// One escaping serves HTML text, quoted HTML attributes, XML text and XML
// attributes: `&`, `<`, `>`, `"` and `'` become character references
// (`&#39;` rather than `&apos;`, which HTML 4 lacks). Code points XML 1.0
// forbids (§2.2: C0 controls other than tab, LF and CR; U+FFFE, U+FFFF) and
// DEL, which HTML5 reports as an error, become U+FFFD, as do bytes that are
// not well-formed UTF-8 (RFC 3629 §4: no overlongs, surrogates or code
// points past U+10FFFF), so a stray byte in a header cannot make the feed
// ill-formed.

#include <string>
#include <string_view>

namespace morgana::blog {

void append_escaped(std::string& out, std::string_view text);
[[nodiscard]] std::string escaped(std::string_view text);

} // namespace morgana::blog
