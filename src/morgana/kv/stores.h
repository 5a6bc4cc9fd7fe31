#pragma once

// Stores by name, for applications: those a platform registers at boot (the
// hosted target's --store=NAME=DIR) and those crunched into the image.
//
//   const kv::Store* site = kv::store("site"); // null when neither kind has it
//
// A store registered at boot wins over a crunched one of the same name, so a
// developer can serve a directory that changes without rebuilding.

#include <memory>
#include <string>
#include <string_view>

#include "morgana/core/format.h"
#include "morgana/kv/store.h"

namespace morgana::kv {

// The store called `name`: the one registered at boot, else the crunched one,
// else null. Valid while its registration lasts (for the image's life when
// registered at boot).
[[nodiscard]] const Store* store(std::string_view name);

// For platforms, before app_main runs: makes `store` the one called `name`,
// replacing an earlier registration of that name.
void register_store(std::string name, std::shared_ptr<const Store> store);

// Forgets the registration of `name`, if any (pointers to it then dangle).
void unregister_store(std::string_view name);

// Every store's name for messages: "site, tls (at boot); site (built in)",
// "site (built in)", or "none".
struct StoreNames {
  void format(FormatSink& sink) const;
};

} // namespace morgana::kv
