#pragma once

// The blog rendered: every page, the feed and every static file of one head
// of the repository, held in memory as an immutable kv::Store with gzip
// variants and digests, so that serving a page costs what serving a static
// file costs (blog/handler.h serves it).
//
// Keys (Canopy's URLs without the leading '/'):
//   ""             the index: the index_page folder's articles, newest created first
//   "Posts/Hello"  an article, at its path in the repository
//   "Posts"        a category: the articles below that folder, newest first
//   "tags"         every tag; "tags/TAG" the articles carrying TAG, newest first
//   "atom"         the Atom feed of the 10 newest articles
//   "static/..."   the repository's static files as they are, and
//   "static/morgana-blog.css", the default style (the repository's
//                  static/css/style.css, when present, is linked after it)
// A path is both a page and a folder ("Posts" and "Posts/Hello"): list()
// names such an entry twice, once as a value and once as a directory.
// Redirects are not values: redirect(key) gives their target. A generated
// page wins over a repository file at the same key (a top-level "atom" or
// "tags" file); the file is skipped with a warning.
//
// Incremental rendering: each page remembers a fingerprint of its inputs
// (the blog's settings, the navigation, and for an article or the feed the
// path, blob id and dates of each article it shows; for a list page the
// SHA-256 of each entry it lists). A render given the previous snapshot
// renders an article again only when its blob id or dates changed (or the
// navigation did), and a list page only when its fingerprint did; every
// other entry (bytes, gzip, digest) is the previous snapshot's, shared. What
// a refresh costs is then mostly the list pages showing the changed article:
// the index of a large blog is hundreds of KB, so their digests hash the
// entries' SHA-256s instead of the entries again.

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/blog/article.h"
#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/core/time.h"
#include "morgana/kv/store.h"

namespace morgana::blog {

struct RenderOptions {
  std::optional<std::string> name;       // wins over .config/blog_name
  std::optional<std::string> index_page; // wins over .config/index_page
  // The head commit's author date: the feed's updated date. Without it, the
  // newest updated date of the feed's entries.
  std::optional<WallClock::time_point> head_date;
};

struct RenderStats {
  std::size_t articles = 0;          // articles in the snapshot (kept ones included)
  std::size_t articles_rendered = 0; // articles rendered by this call (not shared with the previous snapshot)
  std::size_t pages_rendered = 0;    // index, category, tag, tag list, feed and 404 pages rendered by this call
  std::size_t static_files = 0;
  std::size_t skipped = 0; // files that are neither article nor redirect, and key clashes
  std::size_t kept = 0;    // articles that no longer parse, served as the previous snapshot had them
};

class Snapshot final : public kv::Store {
public:
  // One served value. Shared between snapshots when it did not change.
  struct Entry {
    std::string bytes;
    std::optional<std::string> gzip; // a gzip member of `bytes`, when smaller
    // Hex SHA-256 of `bytes`; for a list page, of `bytes` with each list
    // entry replaced by the entry's SHA-256 (as strong a validator).
    std::string digest;
    std::string content_type;
    WallClock::time_point last_modified{};
    std::string fingerprint; // hex SHA-256 of what the entry was made from (see above)
  };

  // An article's entry in lists (pages.h), with its SHA-256: list pages'
  // fingerprints and digests hash that instead of the entry.
  struct ListItem {
    std::string html;
    std::array<unsigned char, 32> sha256;
  };

  // What a repository file became, kept for the next render.
  struct Source {
    std::string digest; // the content store's digest (the blob id); empty when it has none
    WallClock::time_point created{};
    WallClock::time_point updated{};
    std::shared_ptr<const Article> article; // null for a redirect
    std::shared_ptr<const ListItem> list_item;
    std::string redirect;
  };

  [[nodiscard]] Result<kv::Value> get(kv::Key key) const override;
  // size, digest, last_modified and content_type.
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key key) const override;
  [[nodiscard]] Result<std::vector<kv::ListEntry>> list(kv::Key prefix) const override;
  [[nodiscard]] Result<kv::Value> get_encoded(kv::Key key, kv::Encoding encoding) const override;

  // Where a request for `key` is sent with a 301, when it is a redirect.
  [[nodiscard]] std::optional<std::string_view> redirect(kv::Key key) const;
  // The page for a key that is neither a value nor a redirect.
  [[nodiscard]] const Entry& not_found_page() const { return *m_not_found; }

  [[nodiscard]] const RenderStats& stats() const { return m_stats; }

private:
  friend class Renderer;
  Snapshot() = default;

  std::map<std::string, std::shared_ptr<const Entry>, std::less<>> m_entries;
  std::map<std::string, Source, std::less<>> m_sources; // articles and redirects, by repository path
  std::shared_ptr<const Entry> m_not_found;
  std::string m_site_fingerprint; // what every page shows around its content (Renderer)
  std::set<std::string, std::less<>> m_kept;
  // The feed's articles' HTML by path, for the next feed (made on every head): markdown is rendered again only for new
  // or changed articles.
  std::map<std::string, std::shared_ptr<const std::string>, std::less<>>
      m_feed_html; // articles kept after a failed parse
  RenderStats m_stats;
};

// Renders `content` (the repository's head as a kv::Store with dates, i.e. a
// git::TreeStore). With `previous` (the snapshot of the previous head) only
// what changed is rendered again. An article that no longer parses (or whose
// markdown fails to render) keeps its previous rendering when `previous` had
// it; the reason is logged with the path either way. Errors: reading the
// configuration (.config/uuid missing) or the store; Errc::no_memory when
// free memory would not cover the next page and a reserve for serving
// (docs/DESIGN-memory.md, rule 2).
[[nodiscard]] Result<std::shared_ptr<const Snapshot>> render(const kv::Store& content, const RenderOptions& options,
                                                             const Snapshot* previous, const log::Source& log);

} // namespace morgana::blog
