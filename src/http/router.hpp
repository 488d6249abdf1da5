// Spin's HTTP router: which trigger answers a request path, with the values Spin derives
// from the match (path info, named segments) and the `spin-*` headers it sends a component.
//
// Spin routes with the `routefinder` crate (0.5.4) after its own sanitising of routes and
// base; this mirrors both, quirks included, because the precedence between overlapping
// routes is observable behaviour of an application:
// - a route is split into segments at '/' and '.': literal text, `:name` parameters, and
//   a trailing wildcard (`/...` in the manifest, `/*` accepted too);
// - routes are tried in routefinder's order (compare segment by segment: literal > parameter
//   > wildcard; then fewer dots; then fewer segments; ties keep manifest order), the first
//   that matches wins, so `/one` beats `/...` and `/one/two/...` beats `/one/...`;
// - leading and trailing slashes of the path are ignored for matching; the trailing slash
//   still shows in the path info (`/foo/` on `/foo/...` gives `/`);
// - routes are keyed by their text as written: a repeated route is a duplicate, the last
//   one wins and each one displaced is reported (Spin logs them as errors and starts);
// - `{ private = true }` routes are unreachable; `{ private = false }` is an error.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "http/headers.hpp"

namespace gyre::http {

// Paths under this prefix are answered by the runtime (health, info), never by a route.
inline constexpr std::string_view kWellKnownPrefix = "/.well-known/spin/";

// A trigger's `route` field: a pattern, or the `{ private = ... }` table.
struct RouteConfig {
  std::string pattern;
  // Set for `route = { private = ... }`; the value of `private`.
  std::optional<bool> private_endpoint;

  static RouteConfig route(std::string pattern) { return {std::move(pattern), std::nullopt}; }
  static RouteConfig private_route(bool is_private = true) { return {{}, is_private}; }
};

// One trigger's routing entry. The target is opaque to the router (a component id, or a
// trigger id for static responses); it is what a match hands back.
struct RouteEntry {
  std::string target;
  RouteConfig route;
};

// A route that a later entry with the same text displaced: never reachable.
struct DuplicateRoute {
  std::string route;  // with the base applied; "/" for the root
  std::string replaced_target;
  std::string effective_target;
};

struct RouterError {
  std::string message;
};

// A successful match and everything Spin derives from it.
struct RouteMatch {
  std::string target;
  std::string based_route;  // the route with the base, as Spin sanitised it ("" for "/")
  std::string raw_route;    // the route as written in the manifest
  // Named `:param` captures in route order; a name used twice keeps its last value.
  std::vector<std::pair<std::string, std::string>> params;
  // The trailing wildcard's capture as Spin reports it (`spin-path-info`): empty when the
  // route has no wildcard; keeps a trailing slash of the path.
  std::string path_info;

  // The matched route without a trailing "/..." (`spin-component-route`).
  std::string_view raw_route_or_prefix() const;
  std::string_view based_route_or_prefix() const;
  const std::string* param(std::string_view name) const;
};

enum class RouteStatus {
  matched,
  not_found,
  // The path reached a route that routefinder cannot match (a `*` or `:name` followed by
  // something it does not expect, e.g. `/a/*/b`): Spin's request task panics there, so the
  // connection closes without a response. The caller should do the same.
  broken_route,
};

struct RouteResult {
  RouteStatus status = RouteStatus::not_found;
  std::optional<RouteMatch> match;  // set when matched
};

// A route as listed at startup (Spin prints `target: base_url + display`).
struct RouteListing {
  std::string target;
  std::string display;  // "/path" or "/path (wildcard)"
  std::string path;     // without the wildcard; "/" for the root
  bool wildcard = false;
};

class Router {
 public:
  // Spin's HTTP server always passes "/" as the base. Duplicates, when asked for, are
  // appended in manifest order.
  static Result<Router, RouterError> build(std::string_view base,
                                           std::span<const RouteEntry> entries,
                                           std::vector<DuplicateRoute>* duplicates = nullptr);

  // `path` is the request URI's path, still percent-encoded, without the query.
  RouteResult route(std::string_view path) const;

  // Routes in the order they are tried.
  std::vector<RouteListing> routes() const;

  // True if a route lies under kWellKnownPrefix (Spin warns: it can never be reached).
  bool contains_reserved_route() const;

  // Parsed route segments; public so the implementation file can name it.
  struct Segment;
  struct Spec;
  struct Entry;

  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  ~Router();

 private:
  Router();
  std::vector<Entry> entries_;  // in try order
};

// Checks a route pattern the way Spin would when building the router (for manifest
// validation): nullopt if fine, else routefinder's message.
std::optional<std::string> check_route_pattern(std::string_view pattern);

// The `spin-*` headers Spin adds to the request it hands a component (names in lower
// case, as Spin sends them) for a matched request, in the order Spin adds them: spin-path-info,
// spin-full-url, spin-matched-route, spin-base-path (always "/"), spin-raw-component-route,
// spin-component-route, spin-client-addr, then spin-path-match-<name> for each parameter
// (name lower-cased, '_' made '-'). `full_url` comes from full_url() below and
// `client_address` from the server (Rust's SocketAddr format: `127.0.0.1:5000`,
// `[::1]:5000`).
Headers spin_headers(const RouteMatch& match, std::string_view full_url,
                     std::string_view client_address);

// Spin's `spin-full-url`: `{scheme}://{host}{path_and_query}`, where host is the request's
// Host header ("localhost" when there is none) and scheme "http" or "https" by listener.
std::string full_url(std::string_view scheme, std::optional<std::string_view> host_header,
                     std::string_view path_and_query);

// True for a Host of the form `name.spin.internal[:port]` (service chaining): Spin strips
// such a Host header from inbound requests.
bool is_service_chaining_host(std::string_view host);

// The request target split the way Spin's `http` crate sees it, or nullopt where that
// crate rejects it (hyper then answers 400 before any routing).
struct RequestTarget {
  std::string path;            // what the router sees; "/" for an absolute URL without one
  std::string path_and_query;  // fragment dropped; "/" when empty
  std::optional<std::string> authority;  // for absolute-form targets
};
std::optional<RequestTarget> parse_request_target(std::string_view target);

}  // namespace gyre::http
