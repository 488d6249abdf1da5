// libFuzzer target for the router: the input is a set of routes and paths, one a line,
// split at the first empty line (routes before it, paths after). Building must succeed or
// fail with a message; every path must route without crashing; every match must hold a
// target that was given.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/router.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t start = 0; start <= input.size();) {
    const size_t end = input.find('\n', start);
    const size_t stop = end == std::string_view::npos ? input.size() : end;
    lines.push_back(input.substr(start, stop - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }

  std::vector<gyre::http::RouteEntry> entries;
  size_t i = 0;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    const std::string target = "t" + std::to_string(i);
    // A line "!" stands for `{ private = true }`, "!!" for `{ private = false }`.
    if (lines[i] == "!" || lines[i] == "!!") {
      entries.push_back({target, gyre::http::RouteConfig::private_route(lines[i] == "!")});
    } else {
      entries.push_back({target, gyre::http::RouteConfig::route(std::string(lines[i]))});
    }
    (void)gyre::http::check_route_pattern(lines[i]);
  }

  std::vector<gyre::http::DuplicateRoute> duplicates;
  auto router = gyre::http::Router::build("/", entries, &duplicates);
  if (!router.ok()) {
    if (router.error().message.empty()) std::abort();
    return 0;
  }
  (void)router->routes();
  (void)router->contains_reserved_route();
  for (++i; i < lines.size(); ++i) {
    const auto target = gyre::http::parse_request_target(lines[i]);
    const std::string_view path = target ? std::string_view(target->path) : lines[i];
    const auto result = router->route(path);
    if (result.status != gyre::http::RouteStatus::matched) continue;
    if (!result.match || result.match->target.empty() || result.match->target[0] != 't') {
      std::abort();
    }
    (void)gyre::http::spin_headers(*result.match, gyre::http::full_url("http", "h", path),
                                   "127.0.0.1:1");
  }
  return 0;
}
