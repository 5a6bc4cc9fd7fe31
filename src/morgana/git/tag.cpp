#include "morgana/git/tag.h"

namespace morgana::git {

Result<Tag> Tag::parse(Bytes content) {
  HeaderReader headers(as_string(content));
  Tag tag;
  auto object = TRY(headers.expect("object", "git: tag does not start with an object"));
  tag.object = TRY(ObjectId::parse_hex(object));
  auto type = parse_type_name(TRY(headers.expect("type", "git: tag without a type")));
  if (!type) return fail(Errc::malformed, "git: tag of an unknown object type");
  tag.type = *type;
  tag.name = TRY(headers.expect("tag", "git: tag without a name"));
  if (tag.name.empty() || tag.name.find('\n') != std::string_view::npos)
    return fail(Errc::malformed, "git: tag name empty or spanning lines");
  if (auto tagger = TRY(headers.next_if("tagger"))) tag.tagger = TRY(Signature::parse(tagger->value));
  tag.extra_headers = TRY(headers.rest({"object", "type", "tag", "tagger"}));
  tag.message = headers.message();
  return tag;
}

} // namespace morgana::git
