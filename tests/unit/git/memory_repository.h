#pragma once

// A Repository filled by hand for tests: blobs, trees (from a path → file
// map) and commits are written as git writes them, packed (zlib "stored"
// blocks, no compression needed) and indexed into the repository's store
// by the real PackIndexer, as a fetch would.

#include <bearssl.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/git/object.h"
#include "morgana/git/pack_indexer.h"
#include "morgana/git/repository.h"
#include "morgana/git/tree.h"

namespace morgana::git::test {

struct File {
  std::string content;
  TreeMode mode = TreeMode::file; // file, executable, symlink (content: the target) or submodule (content: hex id)
};
using Files = std::map<std::string, File>; // path → file

class MemoryRepository {
public:
  Repository repository;

  ObjectId add(ObjectType type, std::string content) {
    auto id = object_id(type, as_bytes(std::string_view(content)));
    m_pending.emplace_back(type, std::move(content));
    return id;
  }

  // The tree of `files`, subtrees made from the paths' directories.
  ObjectId tree(const Files& files) { return subtree(files, ""); }

  ObjectId commit(const ObjectId& tree, const std::vector<ObjectId>& parents, std::int64_t author_time,
                  std::int64_t commit_time = 0, std::string message = "change") {
    std::string text = "tree " + tree.to_hex() + "\n";
    for (const auto& parent : parents) text += "parent " + parent.to_hex() + "\n";
    text += "author A U Thor <author@example.com> " + std::to_string(author_time) + " +0200\n";
    text += "committer C O Mitter <committer@example.com> " +
            std::to_string(commit_time != 0 ? commit_time : author_time) + " +0000\n\n" + message + "\n";
    return add(ObjectType::commit, text);
  }

  // A commit of `files` on `parents`, committed at `time` (authored then too unless `author_time`).
  ObjectId commit(const Files& files, const std::vector<ObjectId>& parents, std::int64_t time,
                  std::int64_t author_time = 0) {
    return commit(tree(files), parents, author_time != 0 ? author_time : time, time);
  }

  // Packs what was added since the last flush into the store.
  Result<void> flush() {
    std::string pack = "PACK";
    put_be32(pack, 2);
    put_be32(pack, static_cast<std::uint32_t>(m_pending.size()));
    for (const auto& [type, content] : m_pending) {
      // Entry header: type and size, 4 bits then 7 per byte.
      std::uint64_t size = content.size();
      auto byte = static_cast<std::uint8_t>((static_cast<unsigned>(type) << 4) | (size & 15));
      size >>= 4;
      while (size != 0) {
        pack += static_cast<char>(byte | 0x80);
        byte = static_cast<std::uint8_t>(size & 0x7f);
        size >>= 7;
      }
      pack += static_cast<char>(byte);
      pack += zlib_stored(content);
    }
    br_sha1_context context;
    br_sha1_init(&context);
    br_sha1_update(&context, pack.data(), pack.size());
    char digest[20];
    br_sha1_out(&context, digest);
    pack.append(digest, sizeof digest);
    m_pending.clear();
    PackIndexer indexer({}, &repository.store());
    TRY(indexer.feed(as_bytes(std::string_view(pack))));
    return repository.store().add(TRY(indexer.finish()));
  }

private:
  static void put_be32(std::string& out, std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
  }

  // A zlib stream of "stored" (uncompressed) deflate blocks (RFC 1950, RFC 1951 3.2.4).
  static std::string zlib_stored(const std::string& data) {
    std::string out = "\x78\x01";
    std::size_t offset = 0;
    do {
      auto length = std::min<std::size_t>(data.size() - offset, 65535);
      bool last = offset + length == data.size();
      out += static_cast<char>(last ? 1 : 0);
      out += static_cast<char>(length & 0xff);
      out += static_cast<char>(length >> 8);
      out += static_cast<char>(~length & 0xff);
      out += static_cast<char>((~length >> 8) & 0xff);
      out.append(data, offset, length);
      offset += length;
    } while (offset < data.size());
    std::uint32_t a = 1;
    std::uint32_t b = 0;
    for (unsigned char c : data) {
      a = (a + c) % 65521;
      b = (b + a) % 65521;
    }
    put_be32(out, (b << 16) | a);
    return out;
  }

  ObjectId subtree(const Files& files, const std::string& prefix) {
    struct Item {
      std::string name;
      TreeMode mode;
      ObjectId id;
    };
    std::vector<Item> items;
    for (auto it = files.lower_bound(prefix); it != files.end() && it->first.starts_with(prefix);) {
      auto rest = it->first.substr(prefix.size());
      auto slash = rest.find('/');
      if (slash == std::string::npos) {
        const auto& file = it->second;
        auto id =
            file.mode == TreeMode::submodule ? *ObjectId::parse_hex(file.content) : add(ObjectType::blob, file.content);
        items.push_back({rest, file.mode, id});
        ++it;
        continue;
      }
      auto directory = prefix + rest.substr(0, slash + 1);
      items.push_back({rest.substr(0, slash), TreeMode::directory, subtree(files, directory)});
      while (it != files.end() && it->first.starts_with(directory)) ++it;
    }
    std::ranges::sort(items, [](const Item& a, const Item& b) {
      return compare_tree_names(a.name, a.mode == TreeMode::directory, b.name, b.mode == TreeMode::directory) < 0;
    });
    std::string text;
    for (const auto& item : items) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(item.mode));
      text += std::string(mode) + " " + item.name + '\0';
      auto raw = item.id.bytes();
      text.append(reinterpret_cast<const char*>(raw.data()), raw.size());
    }
    return add(ObjectType::tree, text);
  }

  std::vector<std::pair<ObjectType, std::string>> m_pending;
};

} // namespace morgana::git::test
