#include "morgana/http/trust_anchors.h"

#include <string>
#include <utility>
#include <vector>

#include "morgana/core/bytes.h"

namespace morgana::http {

Result<std::shared_ptr<const tls::TrustAnchors>> trust_anchors_from_store(const kv::Store* store,
                                                                          const log::Source& log) {
  if (!store) return std::shared_ptr<const tls::TrustAnchors>{};
  auto anchors = std::make_shared<tls::TrustAnchors>();
  std::vector<std::string> directories{""};
  while (!directories.empty()) {
    auto directory = std::move(directories.back());
    directories.pop_back();
    for (const auto& entry : TRY(store->list(directory))) {
      auto key = directory.empty() ? entry.name : directory + "/" + entry.name;
      if (entry.is_directory) {
        directories.push_back(key);
      } else if (key.ends_with(".pem")) {
        auto value = TRY(store->get(key));
        if (auto added = anchors->add_pem(as_string(value.data)); !added) {
          log.error("ca/{}: {}", key, added.error());
          return std::unexpected(added.error());
        }
      }
    }
  }
  if (anchors->size() == 0) return std::shared_ptr<const tls::TrustAnchors>{};
  log.debug("{} trust anchors from the store 'ca'", anchors->size());
  return anchors;
}

} // namespace morgana::http
