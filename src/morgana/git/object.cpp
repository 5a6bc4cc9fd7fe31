#include "morgana/git/object.h"

#include "morgana/core/memory.h"

namespace morgana::git {

std::string_view type_name(ObjectType type) {
  switch (type) {
  case ObjectType::commit: return "commit";
  case ObjectType::tree: return "tree";
  case ObjectType::blob: return "blob";
  case ObjectType::tag: return "tag";
  }
  return "unknown";
}

std::optional<ObjectType> parse_type_name(std::string_view name) {
  if (name == "commit") return ObjectType::commit;
  if (name == "tree") return ObjectType::tree;
  if (name == "blob") return ObjectType::blob;
  if (name == "tag") return ObjectType::tag;
  return std::nullopt;
}

Result<ObjectBuffer> ObjectBuffer::allocate(std::size_t size) {
  // One byte at least, so that an empty object still has storage to point at.
  auto owned = TRY(try_make_unique<std::byte[]>("git object", size == 0 ? 1 : size));
  return ObjectBuffer{std::shared_ptr<std::byte[]>(std::move(owned)), size};
}

ObjectHasher::ObjectHasher(ObjectType type, std::uint64_t size) {
  br_sha1_init(&m_context);
  auto name = type_name(type);
  br_sha1_update(&m_context, name.data(), name.size());
  char digits[24];
  std::size_t length = 0;
  do {
    digits[sizeof digits - 1 - length++] = static_cast<char>('0' + size % 10);
    size /= 10;
  } while (size != 0);
  br_sha1_update(&m_context, " ", 1);
  br_sha1_update(&m_context, digits + sizeof digits - length, length);
  br_sha1_update(&m_context, "", 1); // the terminating NUL
}

ObjectId ObjectHasher::finish() const {
  std::byte digest[ObjectId::size];
  br_sha1_out(&m_context, digest);
  return MUST(ObjectId::from_bytes(digest));
}

ObjectId object_id(ObjectType type, Bytes content) {
  ObjectHasher hasher(type, content.size());
  hasher.update(content);
  return hasher.finish();
}

Result<void> verify(const ObjectId& id, ObjectType type, Bytes content) {
  if (object_id(type, content) != id) return fail(Errc::bad_checksum, "git: object content does not match its id");
  return {};
}

} // namespace morgana::git
