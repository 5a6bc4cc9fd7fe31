#pragma once

// Git's four object types, an object's bytes with shared ownership, and its
// id: SHA-1 over "<type> <size>\0" then the content (gitformat-loose(5)).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include <bearssl.h>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/object_id.h"

namespace morgana::git {

// Values as in a pack entry's type field (gitformat-pack(5)).
enum class ObjectType : std::uint8_t { commit = 1, tree = 2, blob = 3, tag = 4 };

[[nodiscard]] std::string_view type_name(ObjectType type);
[[nodiscard]] std::optional<ObjectType> parse_type_name(std::string_view name);

// An object's content. `owner` keeps `data` alive, so an Object outlives the
// pack or cache it came from.
struct Object {
  ObjectType type = ObjectType::blob;
  Bytes data;
  std::shared_ptr<const void> owner;
};

// A buffer of `size` bytes, fallibly allocated, to fill before handing out as an Object.
struct ObjectBuffer {
  std::shared_ptr<std::byte[]> storage;
  std::size_t size = 0;

  [[nodiscard]] static Result<ObjectBuffer> allocate(std::size_t size);
  [[nodiscard]] MutableBytes bytes() const { return {storage.get(), size}; }
  [[nodiscard]] Object object(ObjectType type) const { return {type, {storage.get(), size}, storage}; }
};

// SHA-1 of an object fed in pieces: the header first, then the content.
class ObjectHasher {
public:
  ObjectHasher(ObjectType type, std::uint64_t size);
  void update(Bytes content) { br_sha1_update(&m_context, content.data(), content.size()); }
  [[nodiscard]] ObjectId finish() const;

private:
  br_sha1_context m_context{};
};

[[nodiscard]] ObjectId object_id(ObjectType type, Bytes content);
// Errc::bad_checksum when `content` of `type` does not hash to `id`.
[[nodiscard]] Result<void> verify(const ObjectId& id, ObjectType type, Bytes content);

// Objects held elsewhere: the base objects of a thin pack, other packs of a store.
class ObjectSource {
public:
  // Errc::not_found when the object is not held.
  [[nodiscard]] virtual Result<Object> read(const ObjectId& id) = 0;
  [[nodiscard]] virtual bool contains(const ObjectId& id) const = 0;

protected:
  ~ObjectSource() = default;
};

} // namespace morgana::git
