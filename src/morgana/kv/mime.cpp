#include "morgana/kv/mime.h"

#include <array>
#include <cstddef>

#include "morgana/core/ascii.h"

namespace morgana::kv {
namespace {

struct Mapping {
  std::string_view extension; // lower case, without the dot
  std::string_view type;
};

constexpr std::array<Mapping, 38> mappings{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"}, // RFC 9239 §6
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"map", "application/json; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"xml", "application/xml; charset=utf-8"},
    {"atom", "application/atom+xml; charset=utf-8"},
    {"rss", "application/rss+xml; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"}, // RFC 7763
    {"markdown", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff", "font/woff"}, // RFC 8081
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"}, // RFC 6713
    {"tgz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"pem", "application/x-pem-file"},
}};

constexpr std::string_view octet_stream = "application/octet-stream";

} // namespace

std::string_view mime_type(std::string_view path) {
  auto slash = path.rfind('/');
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = name.rfind('.');
  // A dot file (".htaccess") has a name, not an extension.
  if (dot == std::string_view::npos || dot == 0) return octet_stream;
  auto extension = name.substr(dot + 1);
  for (const auto& mapping : mappings) {
    if (ascii::equals_ignoring_case(extension, mapping.extension)) return mapping.type;
  }
  return octet_stream;
}

bool is_compressible(std::string_view mime) {
  auto type = mime.substr(0, mime.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (ascii::starts_with_ignoring_case(type, "text/")) return true;
  // Structured syntax suffixes (RFC 6839 §3): +json and +xml are text.
  constexpr std::array<std::string_view, 2> text_suffixes{"+json", "+xml"};
  for (auto suffix : text_suffixes) {
    if (type.size() > suffix.size() && ascii::equals_ignoring_case(type.substr(type.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  constexpr std::array<std::string_view, 8> compressible{
      "application/json",  "application/javascript",   "application/xml", "application/wasm",
      "application/x-tar", "image/vnd.microsoft.icon", "font/ttf",        "font/otf",
  };
  for (auto candidate : compressible) {
    if (ascii::equals_ignoring_case(type, candidate)) return true;
  }
  return false;
}

} // namespace morgana::kv
