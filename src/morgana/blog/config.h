#pragma once

// A blog's configuration, read as Canopy reads it from the repository's
// `.config/` folder, each file's text trimmed of surrounding whitespace:
//   .config/blog_name   the blog's name (the feed's title); default "Canopy"
//   .config/index_page  the folder `/` lists; default "Index"
//   .config/uuid        the feed's id and the seed of every entry's id; required
//   .config/root        the site's absolute URL; default "http://localhost"
// These defaults and the required uuid are Canopy's (canopy_config.ml and
// canopy_store.ml's base_uuid). A file that trims to nothing counts as
// absent. Two departures: the root loses trailing '/' (Canopy wrote
// "https://x.org//atom" for a root ending in '/'), and index_page loses
// leading and trailing '/'.

#include <optional>
#include <string>
#include <string_view>

#include "morgana/core/result.h"
#include "morgana/kv/store.h"

namespace morgana::blog {

struct Config {
  std::string blog_name;
  std::string index_page;
  std::string uuid;
  std::string root; // without a trailing '/'
};

// Settings that win over the repository's files (`--name`, `--index-page`).
struct ConfigOverrides {
  std::optional<std::string_view> blog_name;
  std::optional<std::string_view> index_page;
};

// Errc::not_found with a context naming .config/uuid when it is missing; a
// store's other errors as they come.
[[nodiscard]] Result<Config> read_config(const kv::Store& store, const ConfigOverrides& overrides = {});

} // namespace morgana::blog
