#include "morgana/git/open_transport.h"

#include "morgana/core/memory.h"
#include "morgana/git/daemon_transport.h"
#include "morgana/git/http_transport.h"

namespace morgana::git {

Result<std::unique_ptr<Transport>> open_transport(const RemoteUrl& url, net::Network& network,
                                                  net::DnsResolver* resolver, http::Client& http_client) {
  if (url.scheme == RemoteScheme::git)
    return TRY(try_make_unique<DaemonTransport>("git transport", network, resolver, url));
  return TRY(try_make_unique<HttpTransport>("git transport", http_client, url));
}

} // namespace morgana::git
