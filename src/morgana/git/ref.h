#pragma once

// A ref as a remote advertises it (ls-refs in v2, the ref advertisement in
// v0/v1). Object ids stay 40-hex strings here: the object layer parses them.

#include <string>
#include <string_view>

namespace morgana::git {

struct Ref {
  std::string name;          // "HEAD", "refs/heads/main", "refs/tags/v1"
  std::string id;            // 40 lowercase hex digits; empty for an unborn HEAD
  std::string symref_target; // for a symbolic ref (HEAD): the ref it points to
  std::string peeled;        // for an annotated tag: the id of the object it tags

  friend bool operator==(const Ref&, const Ref&) = default;
};

// A name as the wire may carry it: non-empty, no spaces or control bytes.
[[nodiscard]] inline bool is_ref_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

} // namespace morgana::git
