#include "trigger/outbound.hpp"

namespace gyre::trigger {
namespace {

// The host part of an authority: "[::1]:80" -> "[::1]", "example.com:8080" -> "example.com".
std::string_view host_of(std::string_view authority) {
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

// A request to the application itself: no authority at all, an authority without a host
// (SDKs send ":443" for a relative URL), or the `self.alt` host.
bool is_self_request(const http::OutboundRequest& request) {
  if (!request.authority) return true;
  const std::string_view host = host_of(*request.authority);
  return host.empty() || host == app::kSelfRequestHost;
}

http::ErrorCode denied() {
  return http::ErrorCode::of(http::ErrorCode::kHttpRequestDenied);
}

}  // namespace

void OutboundRoutes::add_chaining_target(std::string component_id,
                                         std::shared_ptr<http::Handler> handler) {
  chaining_targets_.emplace(std::move(component_id), std::move(handler));
}

void OutboundRoutes::set_origin(std::string scheme, std::string authority) {
  std::lock_guard lock(origin_mutex_);
  origin_scheme_ = std::move(scheme);
  origin_authority_ = std::move(authority);
}

http::OutboundSend OutboundRoutes::sender(std::string component_id, app::AllowedHosts allowed,
                                          std::function<void(std::string_view)> log) {
  return [this, id = std::move(component_id), allowed = std::move(allowed), log = std::move(log)](
             http::OutboundRequest& request, std::shared_ptr<http::Exchange> exchange) {
    return send(id, allowed, log, request, std::move(exchange));
  };
}

std::optional<http::ErrorCode> OutboundRoutes::send(
    const std::string& component_id, const app::AllowedHosts& allowed,
    const std::function<void(std::string_view)>& log, http::OutboundRequest& request,
    std::shared_ptr<http::Exchange> exchange) {
  if (is_self_request(request)) {
    if (!allowed.allows_self()) {
      log(app::denied_self_message());
      return denied();
    }
    // Spin sends self requests over the network to its own listener, so they pass through
    // the router like any client's (private routes stay unreachable).
    {
      std::lock_guard lock(origin_mutex_);
      request.scheme = origin_scheme_;
      request.authority = origin_authority_;
    }
    client_.send(request, std::move(exchange));
    return std::nullopt;
  }

  const std::string url = request.url();
  auto parsed = app::parse_outbound_url(url);
  if (!parsed) {
    log("Warning: A component tried to make a request to a url that could not be parsed: " + url +
        "\n");
    return denied();
  }
  if (!allowed.allows(*parsed)) {
    log(app::denied_message(*parsed));
    return denied();
  }

  const auto target = app::service_chaining_target(*request.authority);
  if (!target) {
    client_.send(request, std::move(exchange));
    return std::nullopt;
  }
  // Service chaining: straight to the component, not through the router, as Spin does:
  // a wildcard match of the whole path, no Host, from client address 0.0.0.0:0.
  auto handler = chaining_targets_.find(*target);
  if (handler == chaining_targets_.end()) {
    log("component " + component_id + ": unknown routing destination '" + *target + "'\n");
    return http::ErrorCode::of(http::ErrorCode::kInternalError,
                               "unknown routing destination '" + *target + "'");
  }
  http::Request chained;
  chained.head.method = request.method;
  chained.head.target = request.path_with_query.value_or("/");
  for (const auto& [name, value] : request.headers)
    chained.head.headers.push_back({name, value});
  chained.client_address = "0.0.0.0:0";
  chained.executor = request.loop;  // served on the sender's lane, on a fiber of its own
  auto parsed_target = http::parse_request_target(chained.head.target);
  if (!parsed_target) return http::ErrorCode::of(http::ErrorCode::kHttpRequestUriInvalid);
  parsed_target->authority = *request.authority;
  http::RouteMatch match;
  match.target = *target;
  match.based_route = "/...";
  match.raw_route = "/...";
  match.path_info = parsed_target->path;
  chained.route = std::move(match);
  chained.target = std::move(parsed_target);
  http::serve_in_process(*handler->second, std::move(chained), std::move(exchange));
  return std::nullopt;
}

}  // namespace gyre::trigger
