// crunch_app: dumps the crunched store "data" for tests/system/crunch_test.sh,
// which builds it with --crunch data=DIR for both targets and compares every
// line with the directory. Walks the store through list() from the root and
// prints, with keys in hex (they may hold spaces):
//
//   crunch_app: stores: NAMES
//   crunch_app: dir KEYHEX
//   crunch_app: file KEYHEX size=N digest=HEX mtime=SECONDS gzip=N|none type=MEDIA TYPE
//   crunch_app: data KEYHEX HEX        (the content, 256 bytes a line)
//   crunch_app: gzip KEYHEX HEX        (the gzip variant, when there is one)
//   crunch_app: end files=N
//
// Exit status 0 when every consistency check passed, 1 otherwise (each failure
// printed as a "crunch_app: check failed: ..." line).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/kv/crunch_store.h"
#include "morgana/platform/interface.h"
#include "morgana_app.h"

using namespace morgana;

namespace {

constexpr std::size_t bytes_per_line = 256;

struct HexText {
  Bytes bytes;
  void format(FormatSink& sink) const {
    static constexpr char digits[] = "0123456789abcdef";
    for (auto byte : bytes) {
      auto value = std::to_integer<unsigned>(byte);
      sink.put(digits[value >> 4]);
      sink.put(digits[value & 15]);
    }
  }
};

template <class... Args>
void print(std::string_view pattern, const Args&... args) {
  StringBuilder<2 * bytes_per_line + 1024> line;
  line.write("crunch_app: ");
  format_to(line, pattern, args...);
  line.put('\n');
  platform::console_write(line.view());
}

class Dumper {
public:
  explicit Dumper(const kv::Store& store) : m_store(store) {}

  void walk(const std::string& prefix) {
    auto entries = m_store.list(prefix);
    if (!entries) {
      check(false, "list", prefix);
      return;
    }
    for (const auto& entry : *entries) {
      std::string key = prefix.empty() ? entry.name : prefix + "/" + entry.name;
      if (entry.is_directory) {
        print("dir {}", HexText{as_bytes(key)});
        check(!m_store.get(key).has_value(), "get on a directory succeeded", key);
        walk(key);
      } else {
        dump(key);
      }
    }
  }

  void dump(const std::string& key) {
    ++m_files;
    auto metadata = m_store.metadata(key);
    auto value = m_store.get(key);
    auto identity = m_store.get_encoded(key, kv::Encoding::identity);
    if (!metadata || !value || !identity) {
      check(false, "metadata, get or get_encoded(identity) failed", key);
      return;
    }
    auto gzip = m_store.get_encoded(key, kv::Encoding::gzip);
    check(value->owner == nullptr, "a crunched value has an owner", key);
    check(value->data.size() == metadata->size, "size differs from metadata", key);
    check(identity->data.data() == value->data.data(), "identity encoding is not the content", key);
    check(!m_store.list(key).has_value(), "list on a file succeeded", key);
    StringBuilder<32> gzip_size;
    if (gzip) format_to(gzip_size, "{}", gzip->data.size());
    else gzip_size.write("none");
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(metadata->last_modified.time_since_epoch());
    print("file {} size={} digest={} mtime={} gzip={} type={}", HexText{as_bytes(key)}, metadata->size,
          metadata->digest, seconds.count(), gzip_size.view(), metadata->content_type);
    dump_bytes("data", key, value->data);
    if (gzip) dump_bytes("gzip", key, gzip->data);
  }

  [[nodiscard]] int files() const { return m_files; }
  [[nodiscard]] bool ok() const { return m_ok; }

  void check(bool condition, std::string_view what, std::string_view key) {
    if (condition) return;
    m_ok = false;
    print("check failed: {} ({})", what, HexText{as_bytes(key)});
  }

private:
  static void dump_bytes(std::string_view kind, const std::string& key, Bytes bytes) {
    for (std::size_t offset = 0; offset < bytes.size(); offset += bytes_per_line) {
      print("{} {} {}", kind, HexText{as_bytes(key)},
            HexText{bytes.subspan(offset).first(std::min(bytes_per_line, bytes.size() - offset))});
    }
  }

  const kv::Store& m_store;
  int m_files = 0;
  bool m_ok = true;
};

} // namespace

Task<Result<void>> app_main(app::Context& context) {
  print("stores: {}", kv::CrunchedNames{});
  const kv::Store& store = context.stores.data;
  Dumper dumper(store);
  dumper.check(kv::crunched("missing") == nullptr, "a store nobody built was found", "missing");
  dumper.check(!store.list("no such directory").has_value(), "listing a missing directory succeeded", "");
  dumper.check(!store.get("no such file").has_value(), "getting a missing file succeeded", "");
  dumper.walk("");
  print("end files={}", dumper.files());
  if (!dumper.ok()) co_return fail(Errc::malformed, "the store failed a check");
  co_return Result<void>{};
}
