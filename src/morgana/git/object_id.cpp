#include "morgana/git/object_id.h"

#include <string>

namespace morgana::git {

Result<ObjectFormat> parse_object_format(std::string_view name) {
  if (name == "sha1") return ObjectFormat::sha1;
  if (name == "sha256") return fail(Errc::unsupported, "git: SHA-256 repositories are not supported");
  return fail(Errc::malformed, "git: unknown object format");
}

Result<ObjectId> ObjectId::from_bytes(Bytes raw) {
  if (raw.size() != size) return fail(Errc::malformed, "git: object id is not 20 bytes");
  ObjectId id;
  std::memcpy(id.m_raw.data(), raw.data(), size);
  return id;
}

namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
} // namespace

Result<ObjectId> ObjectId::parse_hex(std::string_view hex) {
  if (hex.size() == 64) return fail(Errc::unsupported, "git: SHA-256 object id; only SHA-1 repositories are supported");
  if (hex.size() != hex_size) return fail(Errc::malformed, "git: object id is not 40 hex digits");
  ObjectId id;
  for (std::size_t i = 0; i < size; ++i) {
    int high = hex_value(hex[2 * i]);
    int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return fail(Errc::malformed, "git: object id has a non-hex digit");
    id.m_raw[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return id;
}

std::array<char, ObjectId::hex_size> ObjectId::hex_digits() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::array<char, hex_size> text{};
  for (std::size_t i = 0; i < size; ++i) {
    text[2 * i] = digits[m_raw[i] >> 4];
    text[2 * i + 1] = digits[m_raw[i] & 0xf];
  }
  return text;
}

std::string ObjectId::to_hex() const {
  auto text = hex_digits();
  return {text.data(), text.size()};
}

void ObjectId::format(FormatSink& sink) const {
  auto text = hex_digits();
  sink.write({text.data(), text.size()});
}

} // namespace morgana::git
