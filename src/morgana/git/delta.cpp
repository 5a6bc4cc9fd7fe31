#include "morgana/git/delta.h"

#include <cstring>

namespace morgana::git {

namespace {

Result<std::uint64_t> read_size(ByteReader& reader) {
  std::uint64_t value = 0;
  for (unsigned shift = 0;; shift += 7) {
    if (shift > 63) return fail(Errc::malformed, "git: delta size varint too long");
    auto byte = TRY(reader.u8());
    value |= std::uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

} // namespace

Result<DeltaHeader> read_delta_header(Bytes delta) {
  ByteReader reader(delta);
  DeltaHeader header;
  header.base_size = TRY(read_size(reader));
  header.result_size = TRY(read_size(reader));
  header.instructions_offset = reader.position();
  return header;
}

Result<void> apply_delta_into(Bytes base, Bytes delta, MutableBytes out) {
  auto header = TRY(read_delta_header(delta));
  if (header.base_size != base.size()) return fail(Errc::malformed, "git: delta base has another size");
  if (header.result_size != out.size()) return fail(Errc::malformed, "git: delta result buffer has another size");
  ByteReader reader(delta.subspan(header.instructions_offset));
  std::size_t written = 0;
  while (!reader.at_end()) {
    auto command = TRY(reader.u8());
    if (command & 0x80) {
      std::uint64_t offset = 0;
      std::uint64_t size = 0;
      for (unsigned i = 0; i < 4; ++i)
        if (command & (1u << i)) offset |= std::uint64_t{TRY(reader.u8())} << (8 * i);
      for (unsigned i = 0; i < 3; ++i)
        if (command & (0x10u << i)) size |= std::uint64_t{TRY(reader.u8())} << (8 * i);
      if (size == 0) size = 0x10000;
      if (offset > base.size() || size > base.size() - offset)
        return fail(Errc::malformed, "git: delta copies past the end of its base");
      if (size > out.size() - written) return fail(Errc::malformed, "git: delta writes past its declared size");
      std::memcpy(out.data() + written, base.data() + offset, size);
      written += size;
    } else if (command != 0) {
      auto literal = TRY(reader.bytes(command));
      if (literal.size() > out.size() - written)
        return fail(Errc::malformed, "git: delta writes past its declared size");
      std::memcpy(out.data() + written, literal.data(), literal.size());
      written += literal.size();
    } else {
      return fail(Errc::malformed, "git: delta instruction 0 is reserved");
    }
  }
  if (written != out.size()) return fail(Errc::malformed, "git: delta result is shorter than declared");
  return {};
}

Result<ObjectBuffer> apply_delta(Bytes base, Bytes delta, std::size_t max_size) {
  auto header = TRY(read_delta_header(delta));
  if (header.base_size != base.size()) return fail(Errc::malformed, "git: delta base has another size");
  if (header.result_size > max_size)
    return fail(Errc::limit_reached, "git: delta result exceeds the object size limit");
  auto buffer = TRY(ObjectBuffer::allocate(header.result_size));
  TRY(apply_delta_into(base, delta, buffer.bytes()));
  return buffer;
}

} // namespace morgana::git
