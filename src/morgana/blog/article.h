#pragma once

// A blog file's text read as Canopy reads it: an article (a header of
// `key: value` lines between `---` lines, then markdown), or a redirect.
//
// The header, line by line (LF or CRLF endings):
//   - It opens with the file's first line being `---` and closes at the next
//     line that is `---` (spaces and tabs around either allowed); the markdown
//     body is what follows. Canopy closed it at any later `---`, even inside a
//     value.
//   - Blank lines inside are skipped; every other line is `key: value`, split
//     at the first ':' (Canopy's pattern split at the last ": ", which cut a
//     title such as "Re: hello" in two), key and value trimmed of spaces,
//     tabs and CRs. A line without ':' or with an empty key makes the file
//     no article, as Canopy's pattern did.
//   - Keys are case-sensitive. `title` and `author` are required and must not
//     be empty; `author_url`, `abstract` and `tags` are optional; `content`, as
//     in Canopy, must be `markdown` when given; other keys are ignored. When a
//     key repeats, the first value counts (Canopy's List.assoc).
//   - `tags` is split at ',', each tag trimmed; empty tags and repeats are dropped.
// A file that does not open with `---` is a redirect when one of its lines is
// `redirect: TARGET` (leading spaces allowed; the first such line counts);
// TARGET, trimmed, is where a request for the file is sent with a 301. It must
// not be empty or hold control characters (it becomes a Location field).
// Canopy also looked for "redirect:" anywhere in a file whose header failed;
// the issue (and this parser) keeps redirects to headerless files.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "morgana/core/result.h"

namespace morgana::blog {

// Where a repository path sits in Canopy's layout, by its first component:
// `.config/` configures the blog (blog/config.h), `static/` is served as
// files, and every other file is content: an article, a redirect, or skipped
// with the reason parse_content gives. Paths are kv keys ("Posts/Hello").
enum class PathRole : std::uint8_t { config, static_file, content };
[[nodiscard]] PathRole role_of(std::string_view path);

struct Article {
  std::string title;
  std::string author;
  std::string author_url; // empty when absent
  std::string abstract;   // empty when absent; plain text, escaped where shown
  std::vector<std::string> tags;
  std::string body; // markdown
};

struct Redirect {
  std::string target;
};

using Content = std::variant<Article, Redirect>;

// The article or redirect `text` holds; Errc::malformed (or Errc::unsupported
// for a `content` type other than markdown) with a context naming why
// otherwise. The caller logs it and skips the file.
[[nodiscard]] Result<Content> parse_content(std::string_view text);

} // namespace morgana::blog
