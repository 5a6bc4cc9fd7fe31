#pragma once

// The transport a remote's URL asks for: git:// over our TCP (DaemonTransport),
// http:// and https:// as smart HTTP through `http_client` (HttpTransport).

#include <memory>

#include "morgana/core/result.h"
#include "morgana/git/remote_url.h"
#include "morgana/git/transport.h"
#include "morgana/http/client.h"
#include "morgana/net/dns_resolver.h"
#include "morgana/net/network.h"

namespace morgana::git {

// The transports keep references to `network`, `resolver` and `http_client`.
[[nodiscard]] Result<std::unique_ptr<Transport>> open_transport(const RemoteUrl& url, net::Network& network,
                                                                net::DnsResolver* resolver, http::Client& http_client);

} // namespace morgana::git
