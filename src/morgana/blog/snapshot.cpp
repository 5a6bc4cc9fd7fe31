#include "morgana/blog/snapshot.h"

#include <bearssl.h>

#include <algorithm>
#include <array>
#include <set>
#include <span>
#include <type_traits>

#include "morgana/blog/atom.h"
#include "morgana/blog/config.h"
#include "morgana/blog/pages.h"
#include "morgana/core/memory.h"
#include "morgana/http/date.h"
#include "morgana/kv/gzip.h"
#include "morgana/kv/mime.h"
#include "morgana/markdown/markdown.h"

namespace morgana::blog {
namespace {

constexpr std::string_view html_type = "text/html; charset=utf-8";
constexpr std::size_t feed_entries = 10;

using Sha256 = std::array<unsigned char, br_sha256_SIZE>;
static_assert(std::is_same_v<Sha256, decltype(Snapshot::ListItem::sha256)>, "a list item holds a SHA-256");

Sha256 sha256(std::string_view bytes) {
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, bytes.data(), bytes.size());
  Sha256 digest;
  br_sha256_out(&context, digest.data());
  return digest;
}

std::string hex(const Sha256& digest) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest.size() * 2);
  for (auto byte : digest) {
    hex += digits[byte >> 4];
    hex += digits[byte & 0xf];
  }
  return hex;
}

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

// A list page's digest (snapshot.h): its bytes hashed with each entry, from
// `items_at` on, replaced by the entry's SHA-256.
std::string list_page_digest(std::string_view page, std::size_t items_at,
                             std::span<const std::shared_ptr<const Snapshot::ListItem>> items) {
  br_sha256_context context;
  br_sha256_init(&context);
  br_sha256_update(&context, page.data(), items_at);
  std::size_t items_end = items_at;
  for (const auto& item : items) {
    br_sha256_update(&context, item->sha256.data(), item->sha256.size());
    items_end += item->html.size();
  }
  br_sha256_update(&context, page.data() + items_end, page.size() - items_end);
  Sha256 digest;
  br_sha256_out(&context, digest.data());
  return hex(digest);
}

// A gzip variant at the fast level (this runs on every refresh); nullopt
// when zlib fails or it saves nothing.
std::optional<std::string> gzip(std::string_view content) {
  auto compressed = kv::gzip(content, kv::GzipLevel::fast);
  if (!compressed || compressed->size() >= content.size()) return std::nullopt;
  return compressed;
}

// Worth a gzip variant: text, and the few binary types that are not compressed already.
bool compressible(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.contains("xml") || content_type.contains("json") ||
         content_type.contains("javascript") || content_type.starts_with("image/svg");
}

using EntryPtr = std::shared_ptr<const Snapshot::Entry>;

// `fingerprint` is the hex SHA-256 of the entry's inputs; `digest` the
// entry's own when the caller has it (a list page), else empty.
EntryPtr make_entry(std::string bytes, std::string_view content_type, WallClock::time_point last_modified,
                    std::string fingerprint, std::string digest = {}) {
  auto entry = std::make_shared<Snapshot::Entry>();
  entry->digest = digest.empty() ? sha256_hex(bytes) : std::move(digest);
  if (compressible(content_type)) entry->gzip = gzip(bytes);
  entry->bytes = std::move(bytes);
  entry->content_type = content_type;
  entry->last_modified = last_modified;
  entry->fingerprint = std::move(fingerprint);
  return entry;
}

void add_time(std::string& out, WallClock::time_point time) {
  out += std::to_string(time.time_since_epoch().count());
  out += '\n';
}

// Rule 2 of docs/DESIGN-memory.md for what a repository multiplies: a page
// (its text, the templates' temporaries, its gzip) is made only while free
// memory covers about three times its size plus a reserve for serving;
// otherwise the render fails with Errc::no_memory and the previous snapshot
// (or the starting page) stays served, where operator new would have
// stopped the image. `estimate` is the page's expected size.
constexpr std::size_t render_memory_reserve = 256 * 1024;

Result<void> admit_page(std::size_t estimate) {
  if (memory_stats().free < render_memory_reserve + 3 * estimate) return fail(Errc::no_memory, "a blog page");
  return {};
}

// What every page adds around its content (head, navigation, footer), roughly.
constexpr std::size_t page_frame_size = 4096;

// Keys the blog's own pages take; a repository file there is skipped.
bool reserved(std::string_view path) {
  return path == "tags" || path == "atom" || path.starts_with("tags/") || path == default_style_key;
}

} // namespace

class Renderer {
public:
  Renderer(const kv::Store& content, const RenderOptions& options, const Snapshot* previous, const log::Source& log)
      : m_content(content), m_options(options), m_previous(previous), m_log(log),
        m_snapshot(std::shared_ptr<Snapshot>(new Snapshot())) {}

  Result<std::shared_ptr<const Snapshot>> run() {
    ConfigOverrides overrides;
    if (m_options.name) overrides.blog_name = *m_options.name;
    if (m_options.index_page) overrides.index_page = *m_options.index_page;
    m_config = TRY(read_config(m_content, overrides));
    TRY(walk(""));
    collect_views();
    make_site();
    TRY(render_articles());
    TRY(render_lists());
    TRY(render_tags());
    TRY(render_feed());
    TRY(render_fixed());
    m_snapshot->m_stats.articles = m_views.size();
    return std::shared_ptr<const Snapshot>(std::move(m_snapshot));
  }

private:
  [[nodiscard]] const Snapshot::Source* previous_source(std::string_view path) const {
    if (!m_previous) return nullptr;
    auto found = m_previous->m_sources.find(path);
    return found == m_previous->m_sources.end() ? nullptr : &found->second;
  }

  // The previous snapshot's entry at `key` when it was made from the same
  // inputs (`fingerprint`: the hex SHA-256 of them).
  [[nodiscard]] EntryPtr previous_entry(std::string_view key, std::string_view fingerprint) const {
    if (!m_previous) return nullptr;
    auto found = m_previous->m_entries.find(key);
    if (found == m_previous->m_entries.end() || found->second->fingerprint != fingerprint) return nullptr;
    return found->second;
  }

  void skip(std::string_view path, std::string_view why) {
    m_log.warn("{}: skipped: {}", path, why);
    ++m_snapshot->m_stats.skipped;
  }

  Result<void> walk(const std::string& prefix) {
    auto entries = m_content.list(prefix);
    if (!entries) {
      if (prefix.empty() && entries.error() == Errc::not_found) return {}; // an empty repository
      return std::unexpected(entries.error());
    }
    for (const auto& entry : *entries) {
      auto path = prefix.empty() ? entry.name : prefix + "/" + entry.name;
      if (entry.is_directory) {
        TRY(walk(path));
        continue;
      }
      auto role = role_of(path);
      if (role != PathRole::config && reserved(path)) {
        skip(path, "the blog's own pages are served there");
        continue;
      }
      switch (role) {
      case PathRole::config: break;
      case PathRole::static_file: TRY(add_static(path)); break;
      case PathRole::content: TRY(add_content(path)); break;
      }
    }
    return {};
  }

  Result<void> add_static(const std::string& path) {
    auto metadata = TRY(m_content.metadata(path));
    auto type = metadata.content_type.empty() ? kv::mime_type(path) : metadata.content_type;
    std::string fingerprint = "static\n" + std::string(metadata.digest) + "\n" + std::string(type) + "\n";
    add_time(fingerprint, metadata.last_modified);
    auto hash = sha256_hex(fingerprint);
    auto entry = metadata.digest.empty() ? nullptr : previous_entry(path, hash);
    if (!entry) {
      TRY(admit_page(metadata.size));
      auto value = TRY(m_content.get(path));
      entry = make_entry(std::string(as_string(value.data)), type, metadata.last_modified, std::move(hash));
    }
    m_snapshot->m_entries.emplace(path, std::move(entry));
    ++m_snapshot->m_stats.static_files;
    if (path == "static/css/style.css") m_has_own_style = true;
    return {};
  }

  Result<void> add_content(const std::string& path) {
    auto metadata = TRY(m_content.metadata(path));
    std::optional<kv::Value> value;
    std::string digest(metadata.digest);
    if (digest.empty()) {
      // A store without digests: one of the text, so that the next render can compare.
      value = TRY(m_content.get(path));
      digest = sha256_hex(as_string(value->data));
    }
    const auto* previous = previous_source(path);
    if (previous && previous->digest == digest && previous->created == metadata.created &&
        previous->updated == metadata.last_modified) {
      m_snapshot->m_sources.emplace(path, *previous);
      return {};
    }
    if (!value) value = TRY(m_content.get(path));
    auto parsed = parse_content(as_string(value->data));
    if (!parsed) return not_parsed(path, parsed.error(), previous);
    Snapshot::Source source{
        .digest = std::move(digest), .created = metadata.created, .updated = metadata.last_modified};
    if (auto* redirect = std::get_if<Redirect>(&*parsed)) {
      source.redirect = std::move(redirect->target);
    } else {
      auto& article = std::get<Article>(*parsed);
      auto html = markdown::render_html(article.body);
      if (!html) return not_parsed(path, html.error(), previous);
      source.article = std::make_shared<const Article>(std::move(article));
      auto item = list_item({path, source.article.get(), source.created, source.updated});
      auto item_sha256 = sha256(item);
      source.list_item = std::make_shared<const Snapshot::ListItem>(std::move(item), item_sha256);
      m_rendered_html.emplace(path, std::make_shared<const std::string>(std::move(*html)));
    }
    m_snapshot->m_sources.emplace(path, std::move(source));
    return {};
  }

  // The issue: "an article that no longer parses keeps what was served and logs why".
  Result<void> not_parsed(const std::string& path, const Error& error, const Snapshot::Source* previous) {
    if (previous) {
      m_log.warn("{}: {}: {}; serving the previous version", path, error.message(), error.context);
      m_snapshot->m_sources.emplace(path, *previous);
      m_snapshot->m_kept.insert(path);
      ++m_snapshot->m_stats.kept;
    } else {
      m_log.warn("{}: skipped: {}: {}", path, error.message(), error.context);
      ++m_snapshot->m_stats.skipped;
    }
    return {};
  }

  // Every article, newest created first (ties by path, so that renders agree).
  void collect_views() {
    for (const auto& [path, source] : m_snapshot->m_sources) {
      if (source.article) m_views.push_back({path, source.article.get(), source.created, source.updated});
    }
    std::ranges::sort(m_views, [](const ArticleView& a, const ArticleView& b) {
      if (a.created != b.created) return a.created > b.created;
      return a.path < b.path;
    });
  }

  // The navigation (top-level folders holding articles, then root articles)
  // and the fingerprint of everything every page shows.
  void make_site() {
    std::set<std::string, std::less<>> folders;
    for (const auto& view : m_views) {
      auto slash = view.path.find('/');
      if (slash != std::string_view::npos) folders.emplace(view.path.substr(0, slash));
    }
    for (const auto& folder : folders) m_navigation.push_back({folder, folder});
    for (const auto& [path, source] : m_snapshot->m_sources) {
      if (source.article && path.find('/') == std::string::npos) m_navigation.push_back({path, source.article->title});
    }
    m_site = {.name = m_config.blog_name, .navigation = m_navigation, .has_own_style = m_has_own_style};
    m_site_fingerprint = m_config.blog_name + "\n" + m_config.root + "\n" + m_config.uuid + "\n" + m_config.index_page +
                         "\n" + (m_has_own_style ? "style\n" : "\n");
    for (const auto& link : m_navigation) m_site_fingerprint += link.path + "\n" + link.label + "\n";
    m_snapshot->m_site_fingerprint = m_site_fingerprint; // for the next render (render_articles)
  }

  [[nodiscard]] std::string fingerprint_of(std::string_view kind, std::span<const ArticleView> views) const {
    std::string fingerprint = m_site_fingerprint;
    fingerprint += kind;
    fingerprint += '\n';
    for (const auto& view : views) {
      fingerprint += view.path;
      fingerprint += '\n';
      fingerprint += m_snapshot->m_sources.find(view.path)->second.digest;
      fingerprint += '\n';
      add_time(fingerprint, view.created);
      add_time(fingerprint, view.updated);
    }
    return fingerprint;
  }

  // The article's HTML: parsed in this call, or rendered now (the site changed
  // around an unchanged article, or the feed shows it) and kept for the rest of
  // the call; the previous feed's when it showed the article unchanged (the
  // feed is made again on every head: its updated date is the head's).
  Result<std::string_view> body_html(const ArticleView& view) {
    auto found = m_rendered_html.find(view.path);
    if (found == m_rendered_html.end()) {
      std::shared_ptr<const std::string> html;
      const auto* before = previous_source(view.path);
      if (before && before->article.get() == view.article) {
        auto kept = m_previous->m_feed_html.find(view.path);
        if (kept != m_previous->m_feed_html.end()) html = kept->second;
      }
      if (!html) html = std::make_shared<const std::string>(TRY(markdown::render_html(view.article->body)));
      found = m_rendered_html.emplace(std::string(view.path), std::move(html)).first;
    }
    return std::string_view(*found->second);
  }

  // The previous render's page for an article, without hashing its
  // fingerprint (a thousand-article refresh would hash them all for
  // nothing): an article kept after a failed parse keeps its page even if
  // the site changed around it; one whose source was shared (not parsed
  // again) keeps it while the navigation is the same, unless the previous
  // render had kept it (that page may be older). Null: look further.
  [[nodiscard]] EntryPtr previous_article_page(const ArticleView& view) const {
    if (!m_previous) return nullptr;
    auto found = m_previous->m_entries.find(view.path);
    if (found == m_previous->m_entries.end()) return nullptr;
    if (m_snapshot->m_kept.contains(view.path)) return found->second;
    const auto* before = previous_source(view.path);
    bool shared = before && before->article.get() == view.article;
    if (!shared || m_previous->m_site_fingerprint != m_site_fingerprint || m_previous->m_kept.contains(view.path)) {
      return nullptr;
    }
    return found->second;
  }

  Result<void> render_articles() {
    for (const auto& view : m_views) {
      auto entry = previous_article_page(view);
      if (!entry) {
        auto fingerprint = sha256_hex(fingerprint_of("article", std::span(&view, 1)));
        entry = previous_entry(view.path, fingerprint);
        if (!entry) {
          TRY(admit_page(page_frame_size + 2 * view.article->body.size()));
          auto html = body_html(view);
          if (!html) m_log.warn("{}: {}: {}", view.path, html.error().message(), html.error().context);
          entry = make_entry(article_page(m_site, view, html.value_or("")), html_type, view.updated,
                             std::move(fingerprint));
          ++m_snapshot->m_stats.articles_rendered;
        }
      }
      m_snapshot->m_entries.emplace(view.path, std::move(entry));
    }
    return {};
  }

  static WallClock::time_point newest_update(std::span<const ArticleView> views) {
    WallClock::time_point newest{};
    for (const auto& view : views) newest = std::max(newest, view.updated);
    return newest;
  }

  // A page made by render() (its bytes, or a RenderedPage) unless the
  // previous snapshot has it from the same `fingerprint`.
  struct RenderedPage {
    std::string bytes;
    std::string digest; // empty: the SHA-256 of the bytes
  };
  Result<void> add_page(const std::string& key, std::string_view fingerprint, std::size_t estimate, const auto& render,
                        std::string_view content_type, WallClock::time_point last_modified) {
    auto hash = sha256_hex(fingerprint);
    auto entry = previous_entry(key, hash);
    if (!entry) {
      TRY(admit_page(estimate));
      RenderedPage page{render()};
      entry = make_entry(std::move(page.bytes), content_type, last_modified, std::move(hash), std::move(page.digest));
      ++m_snapshot->m_stats.pages_rendered;
    }
    m_snapshot->m_entries.insert_or_assign(key, std::move(entry));
    return {};
  }

  // A list page's fingerprint holds its entries' SHA-256s (what it shows of each article), not their text.
  Result<void> add_list_page(const std::string& key, std::string_view heading, std::span<const ArticleView> views) {
    std::vector<std::shared_ptr<const Snapshot::ListItem>> items;
    items.reserve(views.size());
    std::string fingerprint = m_site_fingerprint + std::string(heading) + "\n";
    std::size_t estimate = page_frame_size;
    for (const auto& view : views) {
      const auto& item = items.emplace_back(m_snapshot->m_sources.find(view.path)->second.list_item);
      fingerprint.append(reinterpret_cast<const char*>(item->sha256.data()), item->sha256.size());
      estimate += item->html.size();
    }
    auto last_modified = newest_update(views);
    add_time(fingerprint, last_modified);
    auto render = [&] {
      std::vector<std::string_view> html;
      html.reserve(items.size());
      for (const auto& item : items) html.push_back(item->html);
      std::size_t items_at = 0;
      auto bytes = list_page(m_site, heading, html, &items_at);
      auto digest = items.empty() ? std::string() : list_page_digest(bytes, items_at, items);
      return RenderedPage{std::move(bytes), std::move(digest)};
    };
    return add_page(key, fingerprint, estimate, render, html_type, last_modified);
  }

  // The index and a category page for every folder holding articles (below it, at any depth).
  Result<void> render_lists() {
    std::map<std::string, std::vector<ArticleView>, std::less<>> folders;
    for (const auto& view : m_views) {
      for (auto slash = view.path.find('/'); slash != std::string_view::npos; slash = view.path.find('/', slash + 1)) {
        folders[std::string(view.path.substr(0, slash))].push_back(view);
      }
    }
    auto index = folders.find(m_config.index_page);
    TRY(add_list_page("", m_config.blog_name, index == folders.end() ? std::span<const ArticleView>() : index->second));
    for (const auto& [folder, views] : folders) {
      if (reserved(folder) || folder == "static") continue;
      TRY(add_list_page(folder, folder, views));
    }
    return {};
  }

  Result<void> render_tags() {
    std::map<std::string, std::vector<ArticleView>, std::less<>> tagged;
    for (const auto& view : m_views) {
      for (const auto& tag : view.article->tags) tagged[tag].push_back(view);
    }
    std::vector<TagCount> counts;
    std::string fingerprint = m_site_fingerprint + "tags\n";
    WallClock::time_point newest{};
    for (const auto& [tag, views] : tagged) {
      counts.push_back({tag, views.size()});
      fingerprint += tag + "\n" + std::to_string(views.size()) + "\n";
      newest = std::max(newest, newest_update(views));
      TRY(add_list_page("tags/" + tag, "Tagged " + tag, views));
    }
    return add_page(
        "tags", fingerprint, page_frame_size + 128 * counts.size(), [&] { return tags_page(m_site, counts); },
        html_type, newest);
  }

  Result<void> render_feed() {
    auto newest = std::span(m_views).first(std::min(feed_entries, m_views.size()));
    auto updated = m_options.head_date.value_or(newest_update(newest));
    std::string fingerprint = fingerprint_of("atom", newest);
    add_time(fingerprint, updated);
    std::size_t estimate = page_frame_size;
    for (const auto& view : newest) estimate += 2 * view.article->body.size();
    return add_page(
        "atom", fingerprint, estimate, [&] { return feed(newest, updated); }, "application/atom+xml", updated);
  }

  std::string feed(std::span<const ArticleView> views, WallClock::time_point updated) {
    std::vector<std::string_view> html;
    for (const auto& view : views) {
      html.push_back(body_html(view).value_or(""));
      auto rendered = m_rendered_html.find(view.path);
      if (rendered != m_rendered_html.end()) m_snapshot->m_feed_html.emplace(view.path, rendered->second);
    }
    std::vector<FeedEntry> entries;
    for (std::size_t i = 0; i < views.size(); ++i) {
      const auto& article = *views[i].article;
      entries.push_back({.path = views[i].path,
                         .title = article.title,
                         .author = article.author,
                         .author_url = article.author_url,
                         .summary = article.abstract,
                         .content_html = html[i],
                         .tags = article.tags,
                         .published = views[i].created,
                         .updated = views[i].updated});
    }
    return write_atom({.uuid = m_config.uuid,
                       .title = m_config.blog_name,
                       .root = m_config.root,
                       .updated = updated,
                       .entries = entries});
  }

  // The default style and the 404 page.
  Result<void> render_fixed() {
    auto style_fingerprint = sha256_hex("style");
    auto style = previous_entry(default_style_key, style_fingerprint);
    if (!style) {
      TRY(admit_page(default_style().size()));
      style = make_entry(std::string(default_style()), "text/css; charset=utf-8", {}, std::move(style_fingerprint));
    }
    m_snapshot->m_entries.insert_or_assign(std::string(default_style_key), std::move(style));
    auto fingerprint = sha256_hex(m_site_fingerprint + "404\n");
    if (m_previous && m_previous->m_not_found->fingerprint == fingerprint) {
      m_snapshot->m_not_found = m_previous->m_not_found;
      return {};
    }
    TRY(admit_page(page_frame_size));
    m_snapshot->m_not_found = make_entry(not_found_page(m_site), html_type, {}, std::move(fingerprint));
    ++m_snapshot->m_stats.pages_rendered;
    return {};
  }

  const kv::Store& m_content;
  const RenderOptions& m_options;
  const Snapshot* m_previous;
  const log::Source& m_log;
  std::shared_ptr<Snapshot> m_snapshot;

  Config m_config;
  bool m_has_own_style = false;
  // Articles' HTML made in this call (or the previous feed's), by path.
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>> m_rendered_html;
  std::vector<ArticleView> m_views;
  std::vector<NavLink> m_navigation;
  SiteView m_site;
  std::string m_site_fingerprint;
};

Result<std::shared_ptr<const Snapshot>> render(const kv::Store& content, const RenderOptions& options,
                                               const Snapshot* previous, const log::Source& log) {
  return Renderer(content, options, previous, log).run();
}

Result<kv::Value> Snapshot::get(kv::Key key) const {
  auto found = m_entries.find(key);
  if (found == m_entries.end()) return fail(Errc::not_found);
  return kv::Value{as_bytes(found->second->bytes), found->second};
}

Result<kv::Value> Snapshot::get_encoded(kv::Key key, kv::Encoding encoding) const {
  if (encoding == kv::Encoding::identity) return get(key);
  auto found = m_entries.find(key);
  if (found == m_entries.end() || !found->second->gzip) return fail(Errc::not_found);
  return kv::Value{as_bytes(*found->second->gzip), found->second};
}

Result<kv::Metadata> Snapshot::metadata(kv::Key key) const {
  auto found = m_entries.find(key);
  if (found == m_entries.end()) return fail(Errc::not_found);
  const auto& entry = *found->second;
  return kv::Metadata{.size = entry.bytes.size(),
                      .digest = entry.digest,
                      .last_modified = entry.last_modified,
                      .content_type = entry.content_type};
}

Result<std::vector<kv::ListEntry>> Snapshot::list(kv::Key prefix) const {
  std::string directory = prefix.empty() ? "" : std::string(prefix) + "/";
  std::vector<kv::ListEntry> entries;
  for (auto it = m_entries.lower_bound(directory); it != m_entries.end() && it->first.starts_with(directory); ++it) {
    auto rest = std::string_view(it->first).substr(directory.size());
    if (rest.empty()) continue; // the index, "": no name
    auto slash = rest.find('/');
    kv::ListEntry entry{std::string(rest.substr(0, slash)), slash != std::string_view::npos};
    if (std::ranges::find_if(entries, [&](const kv::ListEntry& seen) {
          return seen.name == entry.name && seen.is_directory == entry.is_directory;
        }) == entries.end()) {
      entries.push_back(std::move(entry));
    }
  }
  if (entries.empty()) return fail(Errc::not_found);
  std::ranges::sort(entries, [](const kv::ListEntry& a, const kv::ListEntry& b) {
    return a.name != b.name ? a.name < b.name : a.is_directory < b.is_directory;
  });
  return entries;
}

std::optional<std::string_view> Snapshot::redirect(kv::Key key) const {
  auto found = m_sources.find(key);
  if (found == m_sources.end() || found->second.article) return std::nullopt;
  return found->second.redirect;
}

} // namespace morgana::blog
