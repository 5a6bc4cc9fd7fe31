#include "morgana/kv/stores.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "morgana/kv/crunch_store.h"

namespace morgana::kv {
namespace {

struct Registration {
  std::string name;
  std::shared_ptr<const Store> store;
};

// In registration order, so that messages list stores as they were given.
std::vector<Registration>& registered() {
  static std::vector<Registration> stores;
  return stores;
}

} // namespace

const Store* store(std::string_view name) {
  for (const auto& registration : registered()) {
    if (registration.name == name && registration.store) return registration.store.get();
  }
  return crunched(name);
}

void register_store(std::string name, std::shared_ptr<const Store> store) {
  auto& stores = registered();
  auto it = std::ranges::find(stores, name, &Registration::name);
  if (it != stores.end()) {
    it->store = std::move(store);
    return;
  }
  stores.push_back(Registration{std::move(name), std::move(store)});
}

void unregister_store(std::string_view name) {
  std::erase_if(registered(), [name](const Registration& registration) { return registration.name == name; });
}

void StoreNames::format(FormatSink& sink) const {
  const auto& stores = registered();
  bool any_crunched = !crunched_stores().empty();
  if (stores.empty() && !any_crunched) {
    sink.write("none");
    return;
  }
  for (std::size_t i = 0; i < stores.size(); ++i) {
    if (i > 0) sink.write(", ");
    sink.write(stores[i].name);
  }
  if (!stores.empty()) sink.write(" (at boot)");
  if (!any_crunched) return;
  if (!stores.empty()) sink.write("; ");
  CrunchedNames{}.format(sink);
  sink.write(" (built in)");
}

} // namespace morgana::kv
