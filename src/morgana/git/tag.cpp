#include "morgana/git/tag.h"

namespace morgana::git {

Result<Tag> Tag::parse(Bytes content) {
  HeaderReader headers(as_string(content));
  Tag tag;
  auto field = TRY(headers.next());
  if (!field || field->key != "object") return fail(Errc::malformed, "git: tag does not start with an object");
  tag.object = TRY(ObjectId::parse_hex(field->value));
  field = TRY(headers.next());
  if (!field || field->key != "type") return fail(Errc::malformed, "git: tag without a type");
  auto type = parse_type_name(field->value);
  if (!type) return fail(Errc::malformed, "git: tag of an unknown object type");
  tag.type = *type;
  field = TRY(headers.next());
  if (!field || field->key != "tag" || field->value.empty()) return fail(Errc::malformed, "git: tag without a name");
  if (field->value.find('\n') != std::string_view::npos) return fail(Errc::malformed, "git: tag name spans lines");
  tag.name = field->value;
  field = TRY(headers.next());
  if (field && field->key == "tagger") {
    tag.tagger = TRY(Signature::parse(field->value));
    field = TRY(headers.next());
  }
  for (; field; field = TRY(headers.next())) {
    if (field->key == "object" || field->key == "type" || field->key == "tag" || field->key == "tagger")
      return fail(Errc::malformed, "git: tag repeats a header out of order");
    tag.extra_headers.push_back(*field);
  }
  tag.message = headers.message();
  return tag;
}

} // namespace morgana::git
