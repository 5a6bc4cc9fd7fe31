#pragma once

// Stores read from directories at boot, the hosted target's counterpart of
// crunch (like MirageOS's --kv_ro=direct on unix): the boot argument
// `--store=site=www` serves www/ as kv::store("site") without rebuilding the image, and TLS keys can be
// given at boot instead of baked in. The files are read into memory once, at
// boot, by crunch's rules (directory_walk.h); later changes need a restart.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/core/result.h"
#include "morgana/kv/crunch_store.h"
#include "morgana/kv/hosted/directory_walk.h"

namespace morgana::kv {

class DirectoryStore final : public Store {
public:
  // Reads every file under `directory`; on failure, a message naming the file
  // or directory at fault.
  [[nodiscard]] static directory_walk::Outcome<std::shared_ptr<const DirectoryStore>>
  load(std::string name, const std::filesystem::path& directory);

  [[nodiscard]] std::size_t file_count() const;
  // The files' bytes, in total.
  [[nodiscard]] std::uint64_t size() const;

  [[nodiscard]] Result<kv::Value> get(kv::Key key) const override;
  [[nodiscard]] Result<kv::Metadata> metadata(kv::Key key) const override;
  [[nodiscard]] Result<std::vector<kv::ListEntry>> list(kv::Key prefix) const override;
  // No precomputed variants: gzip is Errc::not_found.
  [[nodiscard]] Result<kv::Value> get_encoded(kv::Key key, kv::Encoding encoding) const override;

  struct Contents;

private:
  explicit DirectoryStore(std::shared_ptr<const Contents> contents);

  // Owns every byte the index points into; values share it.
  std::shared_ptr<const Contents> m_contents;
  // Crunch's index over the contents: the same lookups as a crunched store.
  kv::CrunchStore m_index;
};

// The stores named by a --store value (NAME=DIR[,NAME=DIR...]), read and
// registered with kv::register_store. On a bad value, writes a message naming
// --store to `diagnostics` and registers none.
[[nodiscard]] Result<void> register_directory_stores(std::string_view value, FormatSink& diagnostics);

} // namespace morgana::kv
