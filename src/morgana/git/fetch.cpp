#include "morgana/git/fetch.h"

#include "morgana/git/pkt_line.h"

namespace morgana::git {

Result<void> check_request(const FetchRequest& request) {
  if (request.wants.empty()) return fail(Errc::invalid_argument, "a fetch needs at least one want");
  if (request.wants.size() > max_wants || request.shallow.size() > max_wants)
    return fail(Errc::limit_reached, "too many wants or shallow commits in one fetch");
  for (const auto* list : {&request.wants, &request.haves, &request.shallow}) {
    for (const auto& id : *list) {
      if (!is_object_id(id)) return fail(Errc::invalid_argument, "an object id is not 40 lowercase hex digits");
    }
  }
  return {};
}

Result<std::optional<std::string_view>> id_after(std::string_view line, std::string_view keyword) {
  if (!line.starts_with(keyword) || line.size() <= keyword.size() || line[keyword.size()] != ' ')
    return std::optional<std::string_view>{};
  auto id = line.substr(keyword.size() + 1);
  if (!is_object_id(id)) return fail(Errc::malformed, "expected an object id after the keyword");
  return std::optional<std::string_view>{id};
}

Result<bool> add_shallow_line(FetchResult& result, std::string_view line) {
  if (auto id = TRY(id_after(line, "shallow"))) {
    result.shallow.emplace_back(*id);
    return true;
  }
  if (auto id = TRY(id_after(line, "unshallow"))) {
    result.unshallow.emplace_back(*id);
    return true;
  }
  return false;
}

} // namespace morgana::git
