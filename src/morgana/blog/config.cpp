#include "morgana/blog/config.h"

#include "morgana/core/ascii.h"
#include "morgana/core/bytes.h"

namespace morgana::blog {
namespace {

// OCaml's String.trim, which Canopy applied to every .config file.
constexpr std::string_view whitespace = " \t\n\r\f";

// The trimmed text of `key`; nullopt when it is absent or trims to nothing.
Result<std::optional<std::string>> read_setting(const kv::Store& store, kv::Key key) {
  auto value = store.get(key);
  if (!value) {
    if (value.error() == Errc::not_found) return std::nullopt;
    return std::unexpected(value.error());
  }
  auto text = ascii::trim(as_string(value->data), whitespace);
  if (text.empty()) return std::nullopt;
  return std::string(text);
}

} // namespace

Result<Config> read_config(const kv::Store& store, const ConfigOverrides& overrides) {
  Config config;
  auto uuid = TRY(read_setting(store, ".config/uuid"));
  if (!uuid) return fail(Errc::not_found, ".config/uuid is required (the Atom feed's id)");
  config.uuid = std::move(*uuid);

  if (overrides.blog_name) {
    config.blog_name = *overrides.blog_name;
  } else {
    config.blog_name = TRY(read_setting(store, ".config/blog_name")).value_or("Canopy");
  }
  if (overrides.index_page) {
    config.index_page = *overrides.index_page;
  } else {
    config.index_page = TRY(read_setting(store, ".config/index_page")).value_or("Index");
  }
  config.index_page = std::string(ascii::trim(config.index_page, "/"));

  auto root = TRY(read_setting(store, ".config/root")).value_or("http://localhost");
  while (root.ends_with('/')) root.pop_back();
  config.root = std::move(root);
  return config;
}

} // namespace morgana::blog
