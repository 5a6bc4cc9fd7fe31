// Feeds arbitrary text to http::Url::parse and Url::resolve and checks what
// the client relies on: a URL that parses prints (to_string, format) as text
// that parses back to the same URL; every target starts with '/'; a host is
// non-empty and lower case; a resolved URL's path has no dot segments left
// when its base had none (RFC 3986 §5.2.4). The input is "BASE\nREFERENCE";
// a BASE that does not parse is replaced by RFC 3986 §5.4's example base.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "morgana/core/ascii.h"
#include "morgana/core/format.h"
#include "morgana/http/url.h"

using namespace morgana;
using namespace morgana::http;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_url(const Url& url) {
  check(!url.host.empty());
  for (char c : url.host) check(ascii::to_lower(c) == c);
  check(url.target.starts_with('/'));
  check(url.port != 0);
  auto text = url.to_string();
  StringSink formatted;
  url.format(formatted);
  check(formatted.text() == text);
  auto again = Url::parse(text);
  check(again.has_value() && *again == url);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto whole = Url::parse(input)) check_url(*whole);

  auto newline = input.find('\n');
  auto base_text = input.substr(0, newline);
  auto reference = newline == std::string_view::npos ? input : input.substr(newline + 1);
  auto base = Url::parse(base_text);
  if (!base) base = Url::parse("http://a/b/c/d;p?q");
  check(base.has_value());
  auto resolved = base->resolve(reference);
  if (!resolved) return 0;
  check_url(*resolved);
  // A reference without a path keeps the base's path as it is (RFC 3986 §5.2.2).
  auto base_path = base->path();
  auto path = resolved->path();
  if (remove_dot_segments(base_path) == base_path) check(remove_dot_segments(path) == path);
  return 0;
}
