#include "morgana/blog/atom.h"

#include "morgana/blog/escape.h"
#include "morgana/blog/uuid.h"
#include "morgana/http/date.h"
#include "morgana/http/target.h"

namespace morgana::blog {
namespace {

// Appends an element holding escaped text: <name>text</name>.
void element(std::string& out, std::string_view indent, std::string_view name, std::string_view text) {
  out += indent;
  out += '<';
  out += name;
  out += '>';
  append_escaped(out, text);
  out += "</";
  out += name;
  out += ">\n";
}

// Appends ` name="value"`, the value escaped.
void attribute(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "=\"";
  append_escaped(out, value);
  out += '"';
}

// An absolute URL for a repository path (with or without its leading '/').
std::string link_to(std::string_view root, std::string_view path) {
  if (path.starts_with('/')) path.remove_prefix(1);
  return std::string(root) + "/" + http::percent_encode_path(path);
}

void write_link(std::string& out, std::string_view indent, std::string_view rel, std::string_view type,
                std::string_view href) {
  out += indent;
  out += "<link";
  attribute(out, "rel", rel);
  attribute(out, "type", type);
  attribute(out, "href", href);
  out += "/>\n";
}

void write_entry(std::string& out, const Feed& feed, const FeedEntry& entry) {
  constexpr std::string_view indent = "    ";
  out += "  <entry>\n";
  element(out, indent, "id", canopy_entry_id(entry.published, feed.uuid));
  element(out, indent, "title", entry.title);
  element(out, indent, "published", http::format_rfc3339(entry.published));
  element(out, indent, "updated", http::format_rfc3339(entry.updated));
  out += "    <author>\n";
  element(out, "      ", "name", entry.author);
  if (!entry.author_url.empty()) element(out, "      ", "uri", entry.author_url);
  out += "    </author>\n";
  write_link(out, indent, "alternate", "text/html", link_to(feed.root, entry.path));
  for (const auto& tag : entry.tags) {
    // Canopy's scheme: the tag's page.
    out += "    <category";
    attribute(out, "term", tag);
    attribute(out, "scheme", link_to(feed.root, "tags/" + tag));
    out += "/>\n";
  }
  if (!entry.summary.empty()) element(out, indent, "summary", entry.summary);
  out += "    <content type=\"html\">";
  append_escaped(out, entry.content_html);
  out += "</content>\n";
  out += "  </entry>\n";
}

} // namespace

std::string canopy_entry_id(WallClock::time_point created, std::string_view blog_uuid) {
  auto name_space = uuid_v5(dns_namespace, http::format_rfc3339(created, "-00:00"));
  return "urn:uuid:" + uuid_v5(name_space, blog_uuid).to_string();
}

std::string write_atom(const Feed& feed) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  constexpr std::string_view indent = "  ";
  element(out, indent, "id", "urn:uuid:" + std::string(feed.uuid));
  element(out, indent, "title", feed.title);
  element(out, indent, "updated", http::format_rfc3339(feed.updated));
  write_link(out, indent, "self", "application/atom+xml", link_to(feed.root, "atom"));
  write_link(out, indent, "alternate", "text/html", link_to(feed.root, ""));
  for (const auto& entry : feed.entries) write_entry(out, feed, entry);
  out += "</feed>\n";
  return out;
}

} // namespace morgana::blog
