#pragma once

// The blog's built-in templates: plain functions that write HTML5 pages
// (doctype, lang, charset, viewport, title) into a string. Everything taken
// from headers or paths is escaped (blog/escape.h) and links are
// percent-encoded; an article's body is the HTML markdown::render_html made
// of it, kept as it is (the repository's owner writes it).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/blog/article.h"
#include "morgana/core/time.h"

namespace morgana::blog {

// Where the default style is served, and what it is.
inline constexpr std::string_view default_style_key = "static/morgana-blog.css";
[[nodiscard]] std::string_view default_style();

struct NavLink {
  std::string path; // the key linked to, e.g. "Posts"
  std::string label;
};

// What every page shows around its content.
struct SiteView {
  std::string_view name;
  std::span<const NavLink> navigation;
  bool has_own_style = false; // static/css/style.css exists: linked after ours
};

struct ArticleView {
  std::string_view path;
  const Article* article;
  WallClock::time_point created;
  WallClock::time_point updated;
};

// "YYYY-MM-DD" in UTC.
[[nodiscard]] std::string date_text(WallClock::time_point time);

[[nodiscard]] std::string article_page(const SiteView& site, const ArticleView& view, std::string_view body_html);
// The index, a category or a tag: a heading and the articles, as given (newest first).
// An article's entry in the index, category and tag pages: the same in each,
// so made once per article and kept while the article does not change.
[[nodiscard]] std::string list_item(const ArticleView& view);
// The index, a category or a tag: a heading and the entries (list_item) of its articles, as given (newest first).
// The entries are written one after the other, unchanged, from offset *items_at (when given) on.
[[nodiscard]] std::string list_page(const SiteView& site, std::string_view heading,
                                    std::span<const std::string_view> items, std::size_t* items_at = nullptr);
struct TagCount {
  std::string_view tag;
  std::size_t articles;
};
[[nodiscard]] std::string tags_page(const SiteView& site, std::span<const TagCount> tags);
[[nodiscard]] std::string not_found_page(const SiteView& site);

} // namespace morgana::blog
