#pragma once

// The trust anchors an HTTPS client (http::Client, git over https) verifies
// servers against, read from a store of CA certificates: every *.pem file,
// in subdirectories too (the "ca" store of examples/fetch and git-site).

#include <memory>

#include "morgana/core/log.h"
#include "morgana/core/result.h"
#include "morgana/kv/store.h"
#include "morgana/tls/credentials.h"

namespace morgana::http {

// Null when `store` is null or holds no certificate; a file that does not
// parse is logged to `log` with its key and returned as the error.
[[nodiscard]] Result<std::shared_ptr<const tls::TrustAnchors>> trust_anchors_from_store(const kv::Store* store,
                                                                                        const log::Source& log);

} // namespace morgana::http
