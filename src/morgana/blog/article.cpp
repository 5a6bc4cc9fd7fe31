#include "morgana/blog/article.h"

#include <algorithm>
#include <optional>

#include "morgana/core/ascii.h"

namespace morgana::blog {
namespace {

constexpr std::string_view header_fence = "---";

// Blanks around header keys, values and fences; a CR too, so that a CRLF line
// with a stray extra CR reads the same.
std::string_view trim(std::string_view text) { return ascii::trim(text, " \t\r"); }

// Splits text into lines at '\n', dropping a '\r' before it, so CRLF files
// read as LF ones.
class Lines {
public:
  explicit Lines(std::string_view text) : m_text(text) {}

  // The next line, or nullopt at the end of the text.
  std::optional<std::string_view> next() {
    if (m_position >= m_text.size()) return std::nullopt;
    auto end = m_text.find('\n', m_position);
    std::string_view line;
    if (end == std::string_view::npos) {
      line = m_text.substr(m_position);
      m_position = m_text.size();
    } else {
      line = m_text.substr(m_position, end - m_position);
      m_position = end + 1;
    }
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
  }
  // What follows the lines read so far.
  [[nodiscard]] std::string_view rest() const { return m_text.substr(m_position); }

private:
  std::string_view m_text;
  std::size_t m_position = 0;
};

struct Field {
  std::string_view key;
  std::string_view value;
};

// The header's fields in order, and the body after the closing fence.
struct Header {
  std::vector<Field> fields;
  std::string_view body;

  // The first value given for `key` (Canopy's List.assoc), or nullopt.
  [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const {
    auto found = std::ranges::find(fields, key, &Field::key);
    if (found == fields.end()) return std::nullopt;
    return found->value;
  }
};

// `lines` is positioned after the opening fence.
Result<Header> read_header(Lines& lines) {
  Header header;
  while (auto line = lines.next()) {
    if (trim(*line) == header_fence) {
      header.body = lines.rest();
      return header;
    }
    if (trim(*line).empty()) continue;
    auto colon = line->find(':');
    if (colon == std::string_view::npos) return fail(Errc::malformed, "a header line is not 'key: value'");
    auto key = trim(line->substr(0, colon));
    if (key.empty()) return fail(Errc::malformed, "a header line has an empty key");
    header.fields.push_back({key, trim(line->substr(colon + 1))});
  }
  return fail(Errc::malformed, "the header has no closing '---' line");
}

std::vector<std::string> split_tags(std::string_view text) {
  std::vector<std::string> tags;
  while (true) {
    auto comma = text.find(',');
    auto tag = trim(text.substr(0, comma));
    if (!tag.empty() && std::ranges::find(tags, tag) == tags.end()) tags.emplace_back(tag);
    if (comma == std::string_view::npos) return tags;
    text.remove_prefix(comma + 1);
  }
}

Result<Article> to_article(const Header& header) {
  if (auto content = header.find("content"); content && *content != "markdown") {
    return fail(Errc::unsupported, "the header's content type is not markdown");
  }
  auto title = header.find("title");
  if (!title) return fail(Errc::malformed, "the header has no title");
  if (title->empty()) return fail(Errc::malformed, "the header's title is empty");
  auto author = header.find("author");
  if (!author) return fail(Errc::malformed, "the header has no author");
  if (author->empty()) return fail(Errc::malformed, "the header's author is empty");

  Article article;
  article.title = *title;
  article.author = *author;
  article.author_url = header.find("author_url").value_or("");
  article.abstract = header.find("abstract").value_or("");
  article.tags = split_tags(header.find("tags").value_or(""));
  article.body = header.body;
  return article;
}

bool has_control_character(std::string_view text) {
  return std::ranges::any_of(text, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A headerless file: a redirect when a line says so.
Result<Redirect> to_redirect(std::string_view text) {
  constexpr std::string_view prefix = "redirect:";
  Lines lines(text);
  while (auto line = lines.next()) {
    auto start = line->find_first_not_of(" \t");
    if (start == std::string_view::npos || !line->substr(start).starts_with(prefix)) continue;
    auto target = trim(line->substr(start + prefix.size()));
    if (target.empty()) return fail(Errc::malformed, "the redirect has no target");
    // The target becomes a Location header: a stray CR must not end it.
    if (has_control_character(target)) return fail(Errc::malformed, "the redirect target holds a control character");
    return Redirect{std::string(target)};
  }
  return fail(Errc::malformed, "no header (a first line '---') and no 'redirect:' line");
}

} // namespace

PathRole role_of(std::string_view path) {
  auto first = path.substr(0, path.find('/'));
  if (first == ".config") return PathRole::config;
  if (first == "static") return PathRole::static_file;
  return PathRole::content;
}

Result<Content> parse_content(std::string_view text) {
  if (text.empty()) return fail(Errc::malformed, "the file is empty");
  Lines lines(text);
  auto first = lines.next();
  if (trim(first.value_or("")) != header_fence) return TRY(to_redirect(text));
  auto header = TRY(read_header(lines));
  return TRY(to_article(header));
}

} // namespace morgana::blog
