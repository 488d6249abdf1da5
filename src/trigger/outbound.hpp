// Where a component's outgoing HTTP requests go, decided as Spin decides: first its
// `allowed_outbound_hosts` (a denied request fails with HTTP-request-denied and the log
// says which entry would allow it); then a request without a host (`/api/x`) goes to this
// application's own listener, `http://<id>.spin.internal/...` to that component in-process
// (private routes included), and everything else to the network.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "app/outbound_hosts.hpp"
#include "http/handler.hpp"
#include "http/http_client.hpp"
#include "http/outbound.hpp"

namespace gyre::trigger {

// What every component's outbound routing shares: the network client, the components
// reachable by service chaining, and the app's own address (known once it listens).
class OutboundRoutes {
 public:
  explicit OutboundRoutes(http::HttpClient& client) : client_(client) {}

  // Registered while the app loads, before it serves.
  void add_chaining_target(std::string component_id, std::shared_ptr<http::Handler> handler);
  // "http://127.0.0.1:3000": where self requests go.
  void set_origin(std::string scheme, std::string authority);

  // The OutboundSend of one component.
  http::OutboundSend sender(std::string component_id, app::AllowedHosts allowed,
                            std::function<void(std::string_view)> log);

 private:
  std::optional<http::ErrorCode> send(const std::string& component_id,
                                      const app::AllowedHosts& allowed,
                                      const std::function<void(std::string_view)>& log,
                                      http::OutboundRequest& request,
                                      std::shared_ptr<http::Exchange> exchange);

  http::HttpClient& client_;
  std::map<std::string, std::shared_ptr<http::Handler>, std::less<>> chaining_targets_;
  std::mutex origin_mutex_;
  std::string origin_scheme_ = "http";
  std::string origin_authority_;
};

}  // namespace gyre::trigger
