#include "morgana/blog/pages.h"

#include "morgana/blog/escape.h"
#include "morgana/http/date.h"
#include "morgana/http/target.h"

namespace morgana::blog {
namespace {

// A readable column that narrows with the screen, system fonts, and the
// colours the reader's scheme asks for.
constexpr std::string_view style =
    R"css(:root { color-scheme: light dark; --fg: #1d1f21; --bg: #fdfdfc; --muted: #5f6368; --accent: #1a5fb4; --rule: #e2e2e0; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e3; --bg: #17181a; --muted: #a0a4a8; --accent: #78aeed; --rule: #33353a; } }
* { box-sizing: border-box; }
html { font-size: 112.5%; -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--fg); background: var(--bg); line-height: 1.6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.site, main, .site-footer { max-width: 42rem; margin: 0 auto; padding: 0 1.25rem; }
.site { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.5rem; padding-top: 1.5rem; padding-bottom: 1rem;
  border-bottom: 1px solid var(--rule); }
.site-name { font-weight: 700; font-size: 1.25rem; color: var(--fg); text-decoration: none; }
.site nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
a { color: var(--accent); }
main { padding-top: 1.5rem; padding-bottom: 2rem; }
h1, h2, h3 { line-height: 1.25; }
h1 { font-size: 2rem; margin: .5rem 0; }
.meta { color: var(--muted); font-size: .9rem; margin: .25rem 0; }
time { white-space: nowrap; }
.tags { display: inline; list-style: none; padding: 0; margin: 0; }
.tags li { display: inline; margin-right: .5rem; }
.tags a::before { content: "#"; }
.articles { list-style: none; padding: 0; }
.articles > li { margin: 0 0 1.75rem; }
.articles h2 { font-size: 1.3rem; margin: 0; }
.articles h2 a { color: var(--fg); text-decoration: none; }
.articles h2 a:hover { text-decoration: underline; }
.content img, .content video { max-width: 100%; height: auto; }
.content pre { overflow-x: auto; padding: .75rem 1rem; background: color-mix(in srgb, var(--fg) 6%, transparent); border-radius: 4px; }
.content code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.content table { border-collapse: collapse; display: block; overflow-x: auto; }
.content th, .content td { border: 1px solid var(--rule); padding: .3rem .6rem; }
.content blockquote { margin-left: 0; padding-left: 1rem; border-left: 3px solid var(--rule); color: var(--muted); }
.site-footer { border-top: 1px solid var(--rule); padding-top: 1rem; padding-bottom: 2rem; color: var(--muted); font-size: .9rem; }
)css";

void add(std::string& out, std::string_view text) { out += text; }
void add_escaped(std::string& out, std::string_view text) { append_escaped(out, text); }

// href="/PATH", the path percent-encoded, then escaped for the attribute.
void add_link_open(std::string& out, std::string_view path) {
  add(out, "<a href=\"");
  add_escaped(out, http::percent_encode_path("/" + std::string(path)));
  add(out, "\">");
}

void add_link(std::string& out, std::string_view path, std::string_view text) {
  add_link_open(out, path);
  add_escaped(out, text);
  add(out, "</a>");
}

void add_date(std::string& out, WallClock::time_point time) {
  auto date = date_text(time);
  add(out, "<time datetime=\"");
  add(out, date);
  add(out, "\">");
  add(out, date);
  add(out, "</time>");
}

void open_page(std::string& out, const SiteView& site, std::string_view title) {
  add(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
  add(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
  add_escaped(out, title);
  if (title != site.name) {
    add(out, " · ");
    add_escaped(out, site.name);
  }
  add(out, "</title>\n<link rel=\"stylesheet\" href=\"/");
  add(out, default_style_key);
  add(out, "\">\n");
  if (site.has_own_style) add(out, "<link rel=\"stylesheet\" href=\"/static/css/style.css\">\n");
  add(out, "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"");
  add_escaped(out, site.name);
  add(out, "\" href=\"/atom\">\n</head>\n<body>\n<header class=\"site\">\n<a class=\"site-name\" href=\"/\">");
  add_escaped(out, site.name);
  add(out, "</a>\n");
  if (!site.navigation.empty()) {
    add(out, "<nav>\n<ul>\n");
    for (const auto& link : site.navigation) {
      add(out, "<li>");
      add_link(out, link.path, link.label);
      add(out, "</li>\n");
    }
    add(out, "</ul>\n</nav>\n");
  }
  add(out, "</header>\n<main>\n");
}

void close_page(std::string& out) {
  add(out, "</main>\n<footer class=\"site-footer\">\n<a href=\"/tags\">Tags</a> · <a href=\"/atom\">Atom feed</a>\n");
  add(out, "</footer>\n</body>\n</html>\n");
}

// "by AUTHOR · CREATED · updated UPDATED" and the tags.
void add_meta(std::string& out, const ArticleView& view) {
  const auto& article = *view.article;
  add(out, "<div class=\"meta\">by ");
  if (article.author_url.empty()) {
    add_escaped(out, article.author);
  } else {
    add(out, "<a href=\"");
    add_escaped(out, article.author_url);
    add(out, "\">");
    add_escaped(out, article.author);
    add(out, "</a>");
  }
  add(out, " · ");
  add_date(out, view.created);
  if (date_text(view.updated) != date_text(view.created)) {
    add(out, " · updated ");
    add_date(out, view.updated);
  }
  if (!article.tags.empty()) {
    add(out, " · <ul class=\"tags\">");
    for (const auto& tag : article.tags) {
      add(out, "<li>");
      add_link(out, "tags/" + tag, tag);
      add(out, "</li>");
    }
    add(out, "</ul>");
  }
  add(out, "</div>\n");
}

} // namespace

std::string_view default_style() { return style; }

std::string date_text(WallClock::time_point time) { return http::format_rfc3339(time).substr(0, 10); }

std::string article_page(const SiteView& site, const ArticleView& view, std::string_view body_html) {
  std::string out;
  out.reserve(body_html.size() + 2048);
  open_page(out, site, view.article->title);
  add(out, "<article>\n<header>\n<h1>");
  add_escaped(out, view.article->title);
  add(out, "</h1>\n");
  add_meta(out, view);
  add(out, "</header>\n<div class=\"content\">\n");
  add(out, body_html);
  add(out, "\n</div>\n</article>\n");
  close_page(out);
  return out;
}

std::string list_item(const ArticleView& view) {
  std::string out = "<li>\n<article>\n<h2>";
  add_link(out, view.path, view.article->title);
  add(out, "</h2>\n");
  add_meta(out, view);
  if (!view.article->abstract.empty()) {
    add(out, "<p class=\"abstract\">");
    add_escaped(out, view.article->abstract);
    add(out, "</p>\n");
  }
  add(out, "</article>\n</li>\n");
  return out;
}

std::string list_page(const SiteView& site, std::string_view heading, std::span<const std::string_view> items,
                      std::size_t* items_at) {
  std::string out;
  std::size_t size = 2048;
  for (auto item : items) size += item.size();
  out.reserve(size);
  open_page(out, site, heading);
  add(out, "<h1>");
  add_escaped(out, heading);
  add(out, "</h1>\n");
  if (items.empty()) {
    add(out, "<p>No articles yet.</p>\n");
  } else {
    add(out, "<ul class=\"articles\">\n");
    if (items_at) *items_at = out.size();
    for (auto item : items) add(out, item);
    add(out, "</ul>\n");
  }
  close_page(out);
  return out;
}

std::string tags_page(const SiteView& site, std::span<const TagCount> tags) {
  std::string out;
  open_page(out, site, "Tags");
  add(out, "<h1>Tags</h1>\n");
  if (tags.empty()) {
    add(out, "<p>No tags yet.</p>\n");
  } else {
    add(out, "<ul class=\"tag-list\">\n");
    for (const auto& [tag, count] : tags) {
      add(out, "<li>");
      add_link(out, "tags/" + std::string(tag), tag);
      add(out, " (" + std::to_string(count) + ")</li>\n");
    }
    add(out, "</ul>\n");
  }
  close_page(out);
  return out;
}

std::string not_found_page(const SiteView& site) {
  std::string out;
  open_page(out, site, "Not found");
  add(out, "<h1>Not found</h1>\n<p>There is no page here. The <a href=\"/\">index</a> lists the articles.</p>\n");
  close_page(out);
  return out;
}

} // namespace morgana::blog
