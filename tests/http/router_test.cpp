// The router against Spin's own route tests (crates/routes/src/lib.rs) and header tests
// (crates/trigger-http/src/headers.rs), plus routefinder's precedence rules case by case.
#include "http/router.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace gyre::http {
namespace {

Router build(std::string_view base,
             std::initializer_list<std::pair<const char*, const char*>> routes,
             std::vector<DuplicateRoute>* duplicates = nullptr) {
  std::vector<RouteEntry> entries;
  for (const auto& [target, route] : routes)
    entries.push_back({target, RouteConfig::route(route)});
  auto router = Router::build(base, entries, duplicates);
  EXPECT_TRUE(router.ok()) << (router.ok() ? "" : router.error().message);
  return std::move(router).value();
}

std::string target_of(const Router& router, std::string_view path) {
  const RouteResult result = router.route(path);
  if (result.status == RouteStatus::not_found) return "<none>";
  if (result.status == RouteStatus::broken_route) return "<broken>";
  return result.match->target;
}

RouteMatch match(const Router& router, std::string_view path) {
  RouteResult result = router.route(path);
  EXPECT_EQ(result.status, RouteStatus::matched) << path;
  return result.match.value_or(RouteMatch{});
}

// --- Spin's route tests ------------------------------------------------------------------

TEST(Router, Exact) {
  const Router r = build("/", {{"foo", "/foo"}, {"foobar", "/foo/bar"}});
  EXPECT_EQ(target_of(r, "/foo"), "foo");
  EXPECT_EQ(target_of(r, "/foo/bar"), "foobar");
}

TEST(Router, RespectsBase) {
  const Router r = build("/base", {{"foo", "/foo"}, {"foobar", "/foo/bar"}});
  EXPECT_EQ(target_of(r, "/base/foo"), "foo");
  EXPECT_EQ(target_of(r, "/base/foo/bar"), "foobar");
  EXPECT_EQ(target_of(r, "/foo"), "<none>");
}

TEST(Router, Wildcard) {
  const Router r = build("/", {{"all", "/..."}});
  EXPECT_EQ(target_of(r, "/foo/bar"), "all");
  EXPECT_EQ(target_of(r, "/abc/"), "all");
  EXPECT_EQ(target_of(r, "/"), "all");
  EXPECT_EQ(target_of(r, "/this/should/be/captured?abc=def"), "all");
}

TEST(Router, WildcardRoutesUseCustomDisplay) {
  const Router r = build("/", {{"comp", "/whee/..."}});
  const auto routes = r.routes();
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].target, "comp");
  EXPECT_EQ(routes[0].display, "/whee (wildcard)");
  EXPECT_EQ(routes[0].path, "/whee");
  EXPECT_TRUE(routes[0].wildcard);
}

TEST(Router, RootRouteListsAsSlash) {
  const Router r = build("/", {{"root", "/"}, {"all", "/..."}});
  const auto routes = r.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].display, "");
  EXPECT_EQ(routes[0].path, "/");
  EXPECT_EQ(routes[1].display, " (wildcard)");
  EXPECT_EQ(routes[1].path, "/");
}

TEST(Router, RespectsLongestMatchRegardlessOfOrder) {
  const Router a = build("/", {{"one_wildcard", "/one/..."},
                               {"onetwo_wildcard", "/one/two/..."},
                               {"onetwothree_wildcard", "/one/two/three/..."}});
  EXPECT_EQ(target_of(a, "/one/two/three/four"), "onetwothree_wildcard");
  const Router b = build("/", {{"onetwothree_wildcard", "/one/two/three/..."},
                               {"onetwo_wildcard", "/one/two/..."},
                               {"one_wildcard", "/one/..."}});
  EXPECT_EQ(target_of(b, "/one/two/three/four"), "onetwothree_wildcard");
  EXPECT_EQ(target_of(b, "/one/two/x"), "onetwo_wildcard");
  EXPECT_EQ(target_of(b, "/one"), "one_wildcard");
}

TEST(Router, ExactBeatsWildcard) {
  const Router r = build("/", {{"wildcard", "/..."}, {"one_exact", "/one"}});
  EXPECT_EQ(target_of(r, "/one"), "one_exact");
  EXPECT_EQ(target_of(r, "/one/"), "one_exact");
  EXPECT_EQ(target_of(r, "/two"), "wildcard");
}

TEST(Router, SensibleRoutesAreReachable) {
  std::vector<DuplicateRoute> duplicates;
  const Router r =
      build("/", {{"/", "/"}, {"/foo", "/foo"}, {"/bar", "/bar"}, {"/whee/...", "/whee/..."}},
            &duplicates);
  EXPECT_EQ(r.routes().size(), 4u);
  EXPECT_TRUE(duplicates.empty());
}

TEST(Router, OrderOfReachableRoutesIsPreserved) {
  const Router r = build("/", {{"comp-/", "/"},
                               {"comp-/foo", "/foo"},
                               {"comp-/bar", "/bar"},
                               {"comp-/whee/...", "/whee/..."}});
  const auto routes = r.routes();
  ASSERT_EQ(routes.size(), 4u);
  EXPECT_EQ(routes[0].target, "comp-/");
  EXPECT_EQ(routes[1].target, "comp-/foo");
  EXPECT_EQ(routes[2].target, "comp-/bar");
  EXPECT_EQ(routes[3].target, "comp-/whee/...");
}

TEST(Router, DuplicateRoutesAreUnreachableAndLastOneWins) {
  std::vector<DuplicateRoute> duplicates;
  const Router r = build("/",
                         {{"comp-/", "/"},
                          {"comp-first /foo", "/foo"},
                          {"comp-second /foo", "/foo"},
                          {"comp-/whee/...", "/whee/..."}},
                         &duplicates);
  const auto routes = r.routes();
  EXPECT_EQ(routes.size(), 3u);
  ASSERT_EQ(duplicates.size(), 1u);
  EXPECT_EQ(routes[1].target, "comp-second /foo");
  EXPECT_EQ(duplicates[0].replaced_target, "comp-first /foo");
  EXPECT_EQ(duplicates[0].effective_target, "comp-second /foo");
  EXPECT_EQ(target_of(r, "/foo"), "comp-second /foo");
}

TEST(Router, DuplicateRoutesReportingIsFaithful) {
  std::vector<DuplicateRoute> duplicates;
  build("/",
        {{"comp-first /", "/"},
         {"comp-second /", "/"},
         {"comp-first /foo", "/foo"},
         {"comp-second /foo", "/foo"},
         {"comp-first /...", "/..."},
         {"comp-second /...", "/..."},
         {"comp-first /whee/...", "/whee/..."},
         {"comp-second /whee/...", "/whee/..."}},
        &duplicates);
  ASSERT_EQ(duplicates.size(), 4u);
  EXPECT_EQ(duplicates[0].replaced_target, "comp-first /");
  EXPECT_EQ(duplicates[0].route, "/");
  EXPECT_EQ(duplicates[1].replaced_target, "comp-first /foo");
  EXPECT_EQ(duplicates[1].route, "/foo");
  EXPECT_EQ(duplicates[2].replaced_target, "comp-first /...");
  EXPECT_EQ(duplicates[2].route, "/...");
  EXPECT_EQ(duplicates[3].replaced_target, "comp-first /whee/...");
  EXPECT_EQ(duplicates[3].route, "/whee/...");
}

TEST(Router, DuplicatesAreKeyedByTheRouteAsWritten) {
  // `/foo/` and `/foo` differ as written, so both stay; routefinder ties keep the first.
  std::vector<DuplicateRoute> duplicates;
  const Router r =
      build("/", {{"first", "/foo"}, {"second", "/foo/"}, {"third", "foo"}}, &duplicates);
  EXPECT_TRUE(duplicates.empty());
  EXPECT_EQ(r.routes().size(), 3u);
  EXPECT_EQ(target_of(r, "/foo"), "first");
}

TEST(Router, UnroutableRoutesAreSkipped) {
  std::vector<RouteEntry> entries = {{"comp-/", RouteConfig::route("/")},
                                     {"comp-/foo", RouteConfig::route("/foo")},
                                     {"comp-private", RouteConfig::private_route()},
                                     {"comp-/whee/...", RouteConfig::route("/whee/...")}};
  auto r = Router::build("/", entries);
  ASSERT_TRUE(r.ok());
  const auto routes = r->routes();
  EXPECT_EQ(routes.size(), 3u);
  for (const auto& route : routes)
    EXPECT_NE(route.target, "comp-private");
}

TEST(Router, UnroutableRoutesHaveToBeUnroutable) {
  std::vector<RouteEntry> entries = {{"comp-/", RouteConfig::route("/")},
                                     {"comp-bad component", RouteConfig::private_route(false)}};
  auto r = Router::build("/", entries);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("comp-bad component"), std::string::npos);
  EXPECT_EQ(r.error().message,
            "route must be a string pattern or '{ private = true }': 'comp-bad component' has "
            "{ private = false }");
}

TEST(Router, TrailingWildcardIsCaptured) {
  EXPECT_EQ(match(build("/", {{"comp", "/..."}}), "/1/2/3").path_info, "/1/2/3");
  EXPECT_EQ(match(build("/", {{"comp", "/1/..."}}), "/1/2/3").path_info, "/2/3");
}

TEST(Router, TrailingWildcardRespectsTrailingSlash) {
  const Router r = build("/", {{"comp", "/test/..."}});
  EXPECT_EQ(match(r, "/test").path_info, "");
  EXPECT_EQ(match(r, "/test/").path_info, "/");
  EXPECT_EQ(match(r, "/test/hello").path_info, "/hello");
  EXPECT_EQ(match(r, "/test/hello/").path_info, "/hello/");
}

TEST(Router, NamedWildcardIsCaptured) {
  const RouteMatch a = match(build("/", {{"comp", "/1/:two/3"}}), "/1/2/3");
  ASSERT_NE(a.param("two"), nullptr);
  EXPECT_EQ(*a.param("two"), "2");
  const RouteMatch b = match(build("/", {{"comp", "/1/:two/..."}}), "/1/2/3");
  ASSERT_NE(b.param("two"), nullptr);
  EXPECT_EQ(*b.param("two"), "2");
  EXPECT_EQ(b.path_info, "/3");
}

TEST(Router, ReservedRoutes) {
  EXPECT_TRUE(build("/", {{"comp", "/.well-known/spin/..."}}).contains_reserved_route());
  EXPECT_TRUE(build("/", {{"comp", "/.well-known/spin/fie"}}).contains_reserved_route());
  EXPECT_FALSE(build("/", {{"comp", "/.well-known/spindle/..."}}).contains_reserved_route());
  EXPECT_FALSE(build("/", {{"comp", "/.well-known/spi/..."}}).contains_reserved_route());
  EXPECT_FALSE(build("/", {{"comp", "/.well-known/spin"}}).contains_reserved_route());
}

// --- Route forms and sanitising ----------------------------------------------------------

TEST(Router, RoutesWithoutLeadingSlashOrWithTrailingSlash) {
  const Router r = build("/", {{"a", "foo"}, {"b", "/bar/"}, {"c", "baz/..."}});
  EXPECT_EQ(target_of(r, "/foo"), "a");
  EXPECT_EQ(target_of(r, "/bar"), "b");
  EXPECT_EQ(target_of(r, "/bar/"), "b");
  EXPECT_EQ(target_of(r, "/baz/x"), "c");
  EXPECT_EQ(match(r, "/bar").based_route, "/bar");
  EXPECT_EQ(match(r, "/bar").raw_route, "/bar/");
  EXPECT_EQ(match(r, "/foo").based_route, "/foo");
  EXPECT_EQ(match(r, "/foo").raw_route, "foo");
}

TEST(Router, RootAndEmptyRoutes) {
  const Router r = build("/", {{"root", "/"}});
  EXPECT_EQ(target_of(r, "/"), "root");
  EXPECT_EQ(target_of(r, ""), "root");
  EXPECT_EQ(target_of(r, "//"), "root");
  EXPECT_EQ(target_of(r, "/x"), "<none>");
  EXPECT_EQ(match(r, "/").based_route, "");
  const Router e = build("/", {{"empty", ""}});
  EXPECT_EQ(target_of(e, "/"), "empty");
  EXPECT_EQ(match(e, "/").based_route, "");
  EXPECT_EQ(match(e, "/").raw_route, "");
}

TEST(Router, StarSuffixIsAWildcardToo) {
  const Router r = build("/", {{"star", "/files/*"}});
  const RouteMatch m = match(r, "/files/a/b");
  EXPECT_EQ(m.target, "star");
  EXPECT_EQ(m.path_info, "/a/b");
  EXPECT_EQ(m.raw_route_or_prefix(), "/files/*");  // Spin strips only "/..."
  EXPECT_TRUE(r.routes()[0].wildcard);
}

TEST(Router, WildcardMatchesItsPrefixAlone) {
  const Router r = build("/", {{"w", "/foo/..."}});
  EXPECT_EQ(target_of(r, "/foo"), "w");
  EXPECT_EQ(target_of(r, "/foobar"), "<none>");
  EXPECT_EQ(target_of(r, "/fo"), "<none>");
}

TEST(Router, ExactRouteIgnoresTrailingAndLeadingSlashesOfThePath) {
  const Router r = build("/", {{"a", "/a/b"}});
  EXPECT_EQ(target_of(r, "/a/b/"), "a");
  EXPECT_EQ(target_of(r, "//a/b//"), "a");
  EXPECT_EQ(target_of(r, "/a//b"), "<none>");
  EXPECT_EQ(target_of(r, "/a/b/c"), "<none>");
  EXPECT_EQ(target_of(r, "/A/b"), "<none>");  // case-sensitive
}

TEST(Router, PathsAreMatchedStillPercentEncoded) {
  const Router r = build("/", {{"space", "/a%20b"}, {"p", "/x/:v"}});
  EXPECT_EQ(target_of(r, "/a%20b"), "space");
  EXPECT_EQ(target_of(r, "/a b"), "<none>");
  EXPECT_EQ(*match(r, "/x/%2F").param("v"), "%2F");
}

TEST(Router, BaseIsSanitised) {
  EXPECT_EQ(target_of(build("/base/", {{"a", "/foo"}}), "/base/foo"), "a");
  EXPECT_EQ(match(build("/base/", {{"a", "/foo"}}), "/base/foo").based_route, "/base/foo");
  EXPECT_EQ(match(build("/base", {{"a", "/..."}}), "/base/x").based_route, "/base/...");
  EXPECT_EQ(match(build("/base", {{"a", "/..."}}), "/base/x").raw_route, "/...");
  EXPECT_EQ(match(build("", {{"a", "/foo"}}), "/foo").based_route, "/foo");
}

// --- Parameters ---------------------------------------------------------------------------

TEST(Router, ParametersMatchOneSegment) {
  const Router r = build("/", {{"user", "/users/:id"}});
  EXPECT_EQ(*match(r, "/users/42").param("id"), "42");
  EXPECT_EQ(*match(r, "/users/42/").param("id"), "42");
  EXPECT_EQ(target_of(r, "/users"), "<none>");
  EXPECT_EQ(target_of(r, "/users/"), "<none>");
  EXPECT_EQ(target_of(r, "/users/42/posts"), "<none>");
  EXPECT_EQ(match(r, "/users/42").path_info, "");
}

TEST(Router, SeveralParameters) {
  const RouteMatch m = match(build("/", {{"c", "/:a/x/:b"}}), "/1/x/2");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"b", "2"}));
}

TEST(Router, RepeatedParameterKeepsTheLastValue) {
  const RouteMatch m = match(build("/", {{"c", "/:a/:a"}}), "/1/2");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(*m.param("a"), "2");
}

TEST(Router, ParametersWithDots) {
  const Router r = build("/", {{"file", "/files/:name.:ext"}, {"json", "/api/:name.json"}});
  const RouteMatch f = match(r, "/files/report.pdf");
  EXPECT_EQ(*f.param("name"), "report");
  EXPECT_EQ(*f.param("ext"), "pdf");
  EXPECT_EQ(*match(r, "/api/users.json").param("name"), "users");
  EXPECT_EQ(target_of(r, "/api/users"), "<none>");
  EXPECT_EQ(target_of(r, "/api/users.xml"), "<none>");
}

TEST(Router, LiteralsBeatParametersBeatWildcards) {
  const Router r = build("/", {{"wild", "/..."}, {"param", "/:x"}, {"exact", "/hello"}});
  EXPECT_EQ(target_of(r, "/hello"), "exact");
  EXPECT_EQ(target_of(r, "/hey"), "param");
  EXPECT_EQ(target_of(r, "/hey/there"), "wild");
  EXPECT_EQ(target_of(r, "/"), "wild");
}

TEST(Router, PrecedenceIsDecidedByTheFirstDifferingSegment) {
  // A literal first segment outranks a parameter there, whatever follows.
  const Router r = build("/", {{"p", "/:x/bar"}, {"l", "/foo/:y"}});
  EXPECT_EQ(target_of(r, "/foo/bar"), "l");
  EXPECT_EQ(target_of(r, "/baz/bar"), "p");
}

TEST(Router, ParameterBeatsWildcardAtTheSameDepth) {
  const Router r = build("/", {{"w", "/a/..."}, {"p", "/a/:id"}});
  EXPECT_EQ(target_of(r, "/a/1"), "p");
  EXPECT_EQ(target_of(r, "/a/1/2"), "w");
  EXPECT_EQ(target_of(r, "/a"), "w");
}

TEST(Router, ParameterRouteAndWildcardWithParameter) {
  const Router r = build("/", {{"pw", "/:user/..."}, {"lw", "/admin/..."}});
  EXPECT_EQ(target_of(r, "/admin/x"), "lw");
  EXPECT_EQ(target_of(r, "/bob/x"), "pw");
  EXPECT_EQ(*match(r, "/bob/x/y").param("user"), "bob");
  EXPECT_EQ(match(r, "/bob/x/y").path_info, "/x/y");
}

TEST(Router, LiteralsOfDifferentTextTieAndKeepManifestOrder) {
  // routefinder ranks all literals alike: between `/a/...` and `/b` nothing overlaps, but
  // the listing shows the tie kept in manifest order after the shorter route.
  const Router r = build("/", {{"x", "/x/y/..."}, {"a", "/a"}, {"b", "/b/c"}});
  const auto routes = r.routes();
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0].target, "a");
  EXPECT_EQ(routes[1].target, "b");
  EXPECT_EQ(routes[2].target, "x");
}

// --- Routes routefinder cannot handle -------------------------------------------------

TEST(Router, NamedWildcardIsAParseError) {
  std::vector<RouteEntry> entries = {{"c", RouteConfig::route("/a/*rest")}};
  auto r = Router::build("/", entries);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "Error parsing route /a/*rest associated with component c: since there can only be "
            "one wildcard, it doesn't need a name. replace `*rest` with `*`");
  EXPECT_TRUE(check_route_pattern("/a/*rest").has_value());
  EXPECT_FALSE(check_route_pattern("/a/...").has_value());
}

TEST(Router, UnnamedParameterIsAParseError) {
  std::vector<RouteEntry> entries = {{"c", RouteConfig::route("/a/:")}};
  auto r = Router::build("/", entries);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("params must be named"), std::string::npos);
}

TEST(Router, MidRouteWildcardBreaksTheRequestsThatReachIt) {
  const Router r = build("/", {{"mid", "/a/*/b"}, {"other", "/z"}});
  EXPECT_EQ(target_of(r, "/a/x/b"), "<broken>");
  EXPECT_EQ(target_of(r, "/q"), "<none>");  // fails on the first literal, before the `*`
  EXPECT_EQ(target_of(r, "/z"), "other");
}

TEST(Router, MidRouteEllipsisIsLiteralText) {
  // Only a trailing "/..." is a wildcard; elsewhere the dots fold into the literal.
  const Router r = build("/", {{"c", "/foo/.../bar"}});
  EXPECT_EQ(target_of(r, "/foo.../bar"), "c");
  EXPECT_EQ(target_of(r, "/foo/x/bar"), "<none>");
}

// --- Headers (Spin's headers.rs tests) ----------------------------------------------------

std::string header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name == name) return h.value;
  }
  return "<absent>";
}

TEST(SpinHeaders, DefaultHeaders) {
  const Router r = build("/", {{"DUMMY", "/foo/..."}});
  const RouteMatch m = match(r, "/foo/bar");
  const auto headers = spin_headers(
      m, full_url("https", "fermyon.dev", "/foo/bar?key1=value1&key2=value2"), "127.0.0.1:8777");
  EXPECT_EQ(header(headers, "spin-full-url"),
            "https://fermyon.dev/foo/bar?key1=value1&key2=value2");
  EXPECT_EQ(header(headers, "spin-path-info"), "/bar");
  EXPECT_EQ(header(headers, "spin-matched-route"), "/foo/...");
  EXPECT_EQ(header(headers, "spin-base-path"), "/");
  EXPECT_EQ(header(headers, "spin-raw-component-route"), "/foo/...");
  EXPECT_EQ(header(headers, "spin-component-route"), "/foo");
  EXPECT_EQ(header(headers, "spin-client-addr"), "127.0.0.1:8777");
  ASSERT_EQ(headers.size(), 7u);
  EXPECT_EQ(headers[0].name, "spin-path-info");
  EXPECT_EQ(headers[1].name, "spin-full-url");
  EXPECT_EQ(headers[2].name, "spin-matched-route");
  EXPECT_EQ(headers[3].name, "spin-base-path");
  EXPECT_EQ(headers[4].name, "spin-raw-component-route");
  EXPECT_EQ(headers[5].name, "spin-component-route");
  EXPECT_EQ(headers[6].name, "spin-client-addr");
}

TEST(SpinHeaders, DefaultHeadersWithNamedWildcards) {
  const Router r = build("/", {{"DUMMY", "/foo/:userid/..."}});
  const RouteMatch m = match(r, "/foo/42/bar");
  const auto headers = spin_headers(
      m, full_url("https", "fermyon.dev", "/foo/42/bar?key1=value1&key2=value2"), "127.0.0.1:8777");
  EXPECT_EQ(header(headers, "spin-full-url"),
            "https://fermyon.dev/foo/42/bar?key1=value1&key2=value2");
  EXPECT_EQ(header(headers, "spin-path-info"), "/bar");
  EXPECT_EQ(header(headers, "spin-matched-route"), "/foo/:userid/...");
  EXPECT_EQ(header(headers, "spin-base-path"), "/");
  EXPECT_EQ(header(headers, "spin-raw-component-route"), "/foo/:userid/...");
  EXPECT_EQ(header(headers, "spin-component-route"), "/foo/:userid");
  EXPECT_EQ(header(headers, "spin-client-addr"), "127.0.0.1:8777");
  EXPECT_EQ(header(headers, "spin-path-match-userid"), "42");
}

TEST(SpinHeaders, ParameterNamesAreLowerCasedWithDashes) {
  const RouteMatch m = match(build("/", {{"c", "/:User_Id/:b"}}), "/7/8");
  const auto headers = spin_headers(m, "http://localhost/7/8", "[::1]:5000");
  EXPECT_EQ(header(headers, "spin-path-match-user-id"), "7");
  EXPECT_EQ(header(headers, "spin-path-match-b"), "8");
  EXPECT_EQ(header(headers, "spin-client-addr"), "[::1]:5000");
}

TEST(SpinHeaders, RootAndCatchAllRoutes) {
  const auto root = spin_headers(match(build("/", {{"c", "/"}}), "/"), "http://h/", "1.2.3.4:5");
  EXPECT_EQ(header(root, "spin-matched-route"), "");
  EXPECT_EQ(header(root, "spin-raw-component-route"), "/");
  EXPECT_EQ(header(root, "spin-component-route"), "/");
  EXPECT_EQ(header(root, "spin-path-info"), "");

  const auto all = spin_headers(match(build("/", {{"c", "/..."}}), "/"), "http://h/", "1.2.3.4:5");
  EXPECT_EQ(header(all, "spin-matched-route"), "/...");
  EXPECT_EQ(header(all, "spin-raw-component-route"), "/...");
  EXPECT_EQ(header(all, "spin-component-route"), "");
  EXPECT_EQ(header(all, "spin-path-info"), "/");
}

TEST(SpinHeaders, FullUrl) {
  EXPECT_EQ(full_url("http", std::nullopt, "/a?b"), "http://localhost/a?b");
  EXPECT_EQ(full_url("http", "example.com:3000", "/"), "http://example.com:3000/");
  EXPECT_EQ(full_url("https", "h", ""), "https://h/");
}

TEST(SpinHeaders, ServiceChainingHosts) {
  EXPECT_TRUE(is_service_chaining_host("backend.spin.internal"));
  EXPECT_TRUE(is_service_chaining_host("backend.spin.internal:1234"));
  EXPECT_FALSE(is_service_chaining_host("spin.internal"));
  EXPECT_FALSE(is_service_chaining_host("a.b.spin.internal"));
  EXPECT_FALSE(is_service_chaining_host("example.com"));
}

// --- Request targets, as the http crate splits them --------------------------------------

TEST(RequestTarget, OriginForm) {
  const auto t = parse_request_target("/a/b?x=1#frag");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/a/b");
  EXPECT_EQ(t->path_and_query, "/a/b?x=1");
  EXPECT_FALSE(t->authority);
}

TEST(RequestTarget, AbsoluteForm) {
  const auto t = parse_request_target("http://example.com:8080/p?q");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/p");
  EXPECT_EQ(t->path_and_query, "/p?q");
  EXPECT_EQ(t->authority, "example.com:8080");
  const auto bare = parse_request_target("http://example.com");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->path, "/");
}

TEST(RequestTarget, RejectsWhatTheHttpCrateRejects) {
  EXPECT_FALSE(parse_request_target(""));
  EXPECT_FALSE(parse_request_target("/a b"));
  EXPECT_FALSE(parse_request_target("/a<b"));
  EXPECT_FALSE(parse_request_target("/\xff"));  // not UTF-8
  EXPECT_TRUE(parse_request_target("/caf\xc3\xa9"));
  EXPECT_TRUE(parse_request_target("/{\"json\"}"));
  EXPECT_TRUE(parse_request_target("*"));
}

}  // namespace
}  // namespace gyre::http
