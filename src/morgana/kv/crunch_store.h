#pragma once

// Crunch: directories compiled into the image as read-only stores (MirageOS's
// crunch). The host tool tools/crunch reads a directory at build time and
// generates a CrunchTable whose contents are .incbin'd into read-only data;
// CrunchStore serves it without copying anything at boot.
//
// Stores built into an application are found by name:
//
//   const kv::Store* site = kv::crunched("site"); // null unless built with --crunch site=DIR

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/kv/store.h"

namespace morgana::kv {

// One file of a crunched directory, as the generated tables lay it out.
struct CrunchEntry {
  std::string_view key;  // "css/site.css": '/'-separated, no leading '/'
  const std::byte* data; // `size` bytes in read-only data
  std::uint64_t size;
  const std::byte* gzip; // a gzip member (RFC 1952) of the content; null when none was worth keeping
  std::uint64_t gzip_size;
  std::string_view digest; // hex SHA-256 of the content
  std::string_view content_type;
  std::int64_t last_modified; // seconds since the Unix epoch
};

// A crunched directory: its entries sorted by key (byte-wise, as
// std::string_view compares), no key a prefix of another followed by '/'
// (a name is a file or a directory, not both).
struct CrunchTable {
  std::string_view name;
  std::span<const CrunchEntry> entries;
};

class CrunchStore final : public Store {
public:
  constexpr explicit CrunchStore(const CrunchTable& table) : m_table(&table) {}

  [[nodiscard]] std::string_view name() const { return m_table->name; }
  [[nodiscard]] std::span<const CrunchEntry> entries() const { return m_table->entries; }

  [[nodiscard]] Result<Value> get(Key key) const override;
  [[nodiscard]] Result<Metadata> metadata(Key key) const override;
  [[nodiscard]] Result<std::vector<ListEntry>> list(Key prefix) const override;
  [[nodiscard]] Result<Value> get_encoded(Key key, Encoding encoding) const override;

private:
  [[nodiscard]] const CrunchEntry* find(Key key) const;

  const CrunchTable* m_table;
};

// The stores built into this image, in the order given at build time. Defined
// by the registry generated for each application (empty without --crunch);
// binaries without one (tests, fuzzers) see no stores.
std::span<const CrunchStore* const> crunched_stores();

// The built-in store called `name`, or null when the image has none.
[[nodiscard]] const Store* crunched(std::string_view name);

// The built-in stores' names for messages: "site, tls", or "none".
struct CrunchedNames {
  void format(FormatSink& sink) const;
};

} // namespace morgana::kv
