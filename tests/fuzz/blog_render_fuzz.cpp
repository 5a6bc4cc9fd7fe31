// Renders a blog made of arbitrary files: the input is split at NUL bytes
// into the texts of a few files at fixed paths (articles, a nested category,
// a root page, the repository's style, the blog's name), dated by their
// sizes. Checks that rendering succeeds; that every page is well-formed
// enough to trust (the template's elements balanced around the article's
// own HTML, nothing from headers unescaped, the feed's entries closed and at
// most ten); and that rendering again from the previous snapshot after a
// change gives exactly what a full render of the changed files gives,
// unless an article that stopped parsing was rightly kept.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "memory_store.h"
#include "morgana/blog/pages.h"
#include "morgana/blog/snapshot.h"

using namespace morgana;
using namespace morgana::blog;

namespace {

log::Source fuzz_log{"blog-render-fuzz"};

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::string_view paths[] = {"Posts/A",          "Posts/B", "Root", "Other/Deep/C", "static/css/style.css",
                                      ".config/blog_name"};

std::size_t count(std::string_view text, std::string_view needle) {
  std::size_t found = 0;
  for (auto at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + 1)) ++found;
  return found;
}

// As many <name> or <name …> as </name>.
void check_balanced(std::string_view html, std::string_view name) {
  std::string open = "<" + std::string(name);
  check(count(html, open + ">") + count(html, open + " ") == count(html, "</" + std::string(name) + ">"));
}

// The template's own markup: its elements balanced, and every '<' opening
// one of its tags, so that nothing from a header came through unescaped.
void check_template_markup(std::string_view html) {
  constexpr std::string_view containers[] = {"html",    "head", "title", "body", "header", "nav", "ul", "li",    "main",
                                             "article", "h1",   "h2",    "a",    "time",   "div", "p",  "footer"};
  for (auto name : containers) check_balanced(html, name);
  for (auto at = html.find('<'); at != std::string_view::npos; at = html.find('<', at + 1)) {
    auto rest = html.substr(at + 1);
    if (rest.starts_with("!DOCTYPE html>")) continue;
    if (rest.starts_with('/')) rest.remove_prefix(1);
    auto name = rest.substr(0, rest.find_first_of(" >"));
    check(name == "meta" || name == "link" || std::ranges::find(containers, name) != std::end(containers));
  }
  check(count(html, "<title>") == 1);
}

void check_page(const Snapshot& snapshot, std::string_view key) {
  auto value = snapshot.get(key);
  check(value.has_value());
  auto metadata = snapshot.metadata(key);
  check(metadata && metadata->size == value->data.size() && metadata->digest.size() == 64);
  std::string_view page = as_string(value->data);
  if (key == "atom") {
    check(page.starts_with("<?xml"));
    check(count(page, "<entry>") == count(page, "</entry>") && count(page, "<entry>") <= 10);
    return;
  }
  if (key.starts_with("static/")) return;
  check(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n") && page.ends_with("</html>\n"));
  // An article's body is the author's HTML, kept as it is: check what surrounds it.
  constexpr std::string_view body_start = "<div class=\"content\">\n";
  constexpr std::string_view body_end = "\n</div>\n</article>\n</main>\n";
  auto start = page.find(body_start);
  if (start == std::string_view::npos) {
    check_template_markup(page);
    return;
  }
  auto end = page.rfind(body_end);
  check(end != std::string_view::npos && end >= start + body_start.size());
  check_template_markup(std::string(page.substr(0, start)) + "<div>" + std::string(page.substr(end + 1)));
}

// Every key of the snapshot, by walking its listings; "" (the index) has no name there.
std::vector<std::string> keys_of(const Snapshot& snapshot) {
  std::vector<std::string> keys{""};
  std::vector<std::string> prefixes{""};
  while (!prefixes.empty()) {
    auto prefix = prefixes.back();
    prefixes.pop_back();
    auto entries = snapshot.list(prefix);
    if (!entries) continue;
    for (const auto& entry : *entries) {
      auto key = prefix.empty() ? entry.name : prefix + "/" + entry.name;
      (entry.is_directory ? prefixes : keys).push_back(key);
    }
  }
  std::ranges::sort(keys);
  return keys;
}

void check_snapshot(const Snapshot& snapshot) {
  auto keys = keys_of(snapshot);
  for (const auto& key : keys) check_page(snapshot, key);
  check(keys.size() >= 4); // the index, tags, atom, the default style
  check_template_markup(snapshot.not_found_page().bytes);
}

test::MemoryStore store_of(const std::vector<std::string_view>& texts) {
  test::MemoryStore store;
  store.put(".config/uuid", "f9a4a3e2-6c1e-4cbe-9f4b-6b7a1b2c3d4e", {}, {});
  store.put(".config/index_page", "Posts", {}, {});
  for (std::size_t i = 0; i < texts.size() && i < std::size(paths); ++i) {
    auto date = WallClock::time_point{std::chrono::seconds{texts[i].size() * 3600}};
    store.put(std::string(paths[i]), std::string(texts[i]), date, date);
  }
  return store;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // cmark-gfm's quadratic cases (markdown.h) make long inputs slow, not interesting.
  if (size > 8192) return 0;
  fuzz_log.set_level(log::Level::off); // every skipped file is logged: noise here
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> texts;
  for (std::size_t start = 0;;) {
    auto end = input.find('\0', start);
    texts.push_back(input.substr(start, end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }

  auto store = store_of(texts);
  auto first = render(store, {}, nullptr, fuzz_log);
  check(first.has_value());
  check_snapshot(**first);

  // The change: the first two files swap texts, the third is gone.
  if (texts.size() >= 2) std::swap(texts[0], texts[1]);
  if (texts.size() >= 3) texts.erase(texts.begin() + 2);
  auto changed = store_of(texts);
  auto incremental = render(changed, {}, first->get(), fuzz_log);
  auto full = render(changed, {}, nullptr, fuzz_log);
  check(incremental && full);
  check_snapshot(**incremental);
  check((*incremental)->stats().skipped + (*incremental)->stats().kept == (*full)->stats().skipped);
  if ((*incremental)->stats().kept == 0) {
    // Nothing kept: the same keys and the same bytes.
    auto keys = keys_of(**incremental);
    check(keys == keys_of(**full));
    for (const auto& key : keys) {
      check(as_string((*incremental)->get(key)->data) == as_string((*full)->get(key)->data));
    }
    check((*incremental)->not_found_page().bytes == (*full)->not_found_page().bytes);
  }
  return 0;
}
