#include "morgana/kv/hosted/directory_store.h"

#include <set>
#include <utility>
#include <vector>

#include "morgana/core/log.h"
#include "morgana/kv/mime.h"
#include "morgana/kv/stores.h"

namespace morgana::kv {
namespace {

log::Source store_log{"store"};

} // namespace

struct DirectoryStore::Contents {
  std::string name;
  std::vector<directory_walk::File> files;
  // Parallel to `files`; the index's string_views and pointers point into them.
  std::vector<std::string> data;
  std::vector<std::string> digests;
  std::vector<CrunchEntry> entries;
  CrunchTable table;
  std::uint64_t size = 0;
};

DirectoryStore::DirectoryStore(std::shared_ptr<const Contents> contents)
    : m_contents(std::move(contents)), m_index(m_contents->table) {}

directory_walk::Outcome<std::shared_ptr<const DirectoryStore>>
DirectoryStore::load(std::string name, const std::filesystem::path& directory) {
  auto walked = directory_walk::walk(directory);
  if (!walked) return std::unexpected(std::move(walked.error()));
  auto contents = std::make_shared<Contents>();
  contents->name = std::move(name);
  contents->files = std::move(walked->files);
  contents->data.reserve(contents->files.size());
  contents->digests.reserve(contents->files.size());
  for (const auto& file : contents->files) {
    auto content = directory_walk::read_content(file);
    if (!content) return std::unexpected(std::move(content.error()));
    contents->size += content->size();
    if (contents->size > directory_walk::max_store_size) {
      return directory_walk::failure(walked->root.string() + ": the store would hold over " +
                                     directory_walk::mebibytes(directory_walk::max_store_size) + " (at " +
                                     file.path.string() + ")");
    }
    contents->digests.push_back(directory_walk::sha256_hex(*content));
    contents->data.push_back(std::move(*content));
  }
  // Views into the strings above, which no longer move.
  contents->entries.reserve(contents->files.size());
  for (std::size_t i = 0; i < contents->files.size(); ++i) {
    const auto& key = contents->files[i].key;
    const auto& data = contents->data[i];
    contents->entries.push_back(CrunchEntry{
        .key = key,
        .data = reinterpret_cast<const std::byte*>(data.data()),
        .size = data.size(),
        .gzip = nullptr,
        .gzip_size = 0,
        .digest = contents->digests[i],
        .content_type = mime_type(key),
        .last_modified = contents->files[i].mtime,
    });
  }
  contents->table = CrunchTable{contents->name, contents->entries};
  return std::shared_ptr<const DirectoryStore>(new DirectoryStore(std::move(contents)));
}

std::size_t DirectoryStore::file_count() const { return m_contents->entries.size(); }
std::uint64_t DirectoryStore::size() const { return m_contents->size; }

Result<kv::Value> DirectoryStore::get(kv::Key key) const {
  auto value = TRY(m_index.get(key));
  value.owner = m_contents;
  return value;
}

Result<kv::Metadata> DirectoryStore::metadata(kv::Key key) const { return m_index.metadata(key); }

Result<std::vector<kv::ListEntry>> DirectoryStore::list(kv::Key prefix) const { return m_index.list(prefix); }

Result<kv::Value> DirectoryStore::get_encoded(kv::Key key, kv::Encoding encoding) const {
  if (encoding != kv::Encoding::identity) return fail(Errc::not_found);
  return get(key);
}

Result<void> register_directory_stores(std::string_view value, FormatSink& diagnostics) {
  if (value.empty()) return {};
  auto refuse = [&](std::string_view why) {
    format_to(diagnostics, "argument '--store={}': {}\n", value, why);
    return fail(Errc::invalid_argument, "--store");
  };
  struct Loaded {
    std::string name;
    std::shared_ptr<const DirectoryStore> store;
    std::string_view directory;
  };
  std::vector<Loaded> loaded;
  std::set<std::string_view> names;
  for (std::string_view rest = value; !rest.empty();) {
    auto comma = rest.find(',');
    auto item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto equals = item.find('=');
    if (equals == std::string_view::npos) {
      return refuse(format_string("'{}' is not NAME=DIR (expected NAME=DIR[,NAME=DIR...])", item));
    }
    auto name = item.substr(0, equals);
    auto directory = item.substr(equals + 1);
    if (!directory_walk::valid_store_name(name)) {
      return refuse(format_string("store name '{}' is not a C identifier ([A-Za-z_][A-Za-z0-9_]*)", name));
    }
    if (directory.empty()) return refuse(format_string("store '{}' needs a directory: {}=DIR", name, name));
    if (!names.insert(name).second) return refuse(format_string("store '{}' given twice", name));
    auto store = DirectoryStore::load(std::string{name}, std::filesystem::path{directory});
    if (!store) return refuse(store.error());
    loaded.push_back(Loaded{std::string{name}, std::move(*store), directory});
  }
  if (loaded.empty()) return refuse("expected NAME=DIR[,NAME=DIR...]");
  for (auto& [name, store, directory] : loaded) {
    store_log.info("store {}: {} files, {} bytes from {}", name, store->file_count(), store->size(), directory);
    register_store(std::move(name), std::move(store));
  }
  return {};
}

} // namespace morgana::kv
