// Feeds arbitrary text to blog::parse_content and checks what the pages and
// the feed rely on: an article's title and author are non-empty; no header
// value holds a line break or leading or trailing blanks; tags are non-empty,
// without commas and distinct; the body is the input's tail; an article
// written back as a header parses to the same article; a redirect's target
// is non-empty and free of control characters. The input escaped for markup
// holds no raw markup character and every '&' starts a reference.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "morgana/blog/article.h"
#include "morgana/blog/escape.h"

using namespace morgana;
using namespace morgana::blog;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_value(std::string_view value) {
  check(value.find('\n') == std::string_view::npos);
  if (value.empty()) return;
  for (char edge : {value.front(), value.back()}) check(edge != ' ' && edge != '\t');
}

bool same(const Article& a, const Article& b) {
  return a.title == b.title && a.author == b.author && a.author_url == b.author_url && a.abstract == b.abstract &&
         a.tags == b.tags && a.body == b.body;
}

std::string write_back(const Article& article) {
  std::string text = "---\ntitle: " + article.title + "\nauthor: " + article.author + "\n";
  if (!article.author_url.empty()) text += "author_url: " + article.author_url + "\n";
  if (!article.abstract.empty()) text += "abstract: " + article.abstract + "\n";
  text += "tags:";
  for (const auto& tag : article.tags) text += " " + tag + ",";
  text += "\n---\n" + article.body;
  return text;
}

void check_article(std::string_view input, const Article& article) {
  check(!article.title.empty() && !article.author.empty());
  for (const auto* value : {&article.title, &article.author, &article.author_url, &article.abstract}) {
    check_value(*value);
  }
  for (std::size_t i = 0; i < article.tags.size(); ++i) {
    check(!article.tags[i].empty() && article.tags[i].find(',') == std::string::npos);
    check_value(article.tags[i]);
    for (std::size_t j = 0; j < i; ++j) check(article.tags[i] != article.tags[j]);
  }
  check(input.ends_with(article.body));
  auto again = parse_content(write_back(article));
  check(again.has_value() && std::holds_alternative<Article>(*again) && same(std::get<Article>(*again), article));
}

void check_escaped(std::string_view text) {
  auto out = escaped(text);
  check(out.find_first_of("<>\"'") == std::string::npos);
  for (auto amp = out.find('&'); amp != std::string::npos; amp = out.find('&', amp + 1)) {
    auto rest = std::string_view(out).substr(amp);
    check(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
          rest.starts_with("&quot;") || rest.starts_with("&#39;"));
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_escaped(input);
  auto content = parse_content(input);
  if (!content) {
    check(!content.error().context.empty());
    return 0;
  }
  if (const auto* article = std::get_if<Article>(&*content)) {
    check_article(input, *article);
  } else {
    const auto& target = std::get<Redirect>(*content).target;
    check(!target.empty());
    check_value(target);
    for (char c : target) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  }
  return 0;
}
