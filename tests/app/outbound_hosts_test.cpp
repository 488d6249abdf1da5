// Spin's outbound network permissions: every form an allowed_outbound_hosts entry can
// take, what each allows and denies, every malformed form with Spin's error words,
// templates, the allowed_http_hosts conversion, service chaining, self requests, and the
// message printed for a denied request. Many cases are those of Spin's own unit tests
// (outbound-networking-config/src/allowed_hosts.rs, manifest/src/compat).
#include "app/outbound_hosts.hpp"

#include <gtest/gtest.h>

#include "app/variables.hpp"

namespace gyre::app {
namespace {

// An app whose component "app" has these lists, next to components "other" and "third".
Manifest app_with(std::vector<std::string> outbound, std::vector<std::string> http = {},
                  OrderedMap<Variable> variables = {}) {
  Manifest manifest;
  manifest.file = "spin.toml";
  manifest.variables = std::move(variables);
  Component app;
  app.allowed_outbound_hosts = std::move(outbound);
  app.allowed_http_hosts = std::move(http);
  manifest.components.insert("app", std::move(app));
  manifest.components.insert("other", Component{});
  manifest.components.insert("third", Component{});
  return manifest;
}

AllowedHosts must_parse(const Manifest& manifest, const OrderedMap<std::string>& values = {}) {
  auto hosts = AllowedHosts::parse(manifest, "app", values);
  if (!hosts.ok()) {
    ADD_FAILURE() << "unexpected error: " << hosts.error().describe();
    return AllowedHosts{};
  }
  return std::move(hosts).value();
}

AllowedHosts hosts_for(std::vector<std::string> outbound) {
  return must_parse(app_with(std::move(outbound)));
}

OutboundHostsError must_fail(const Manifest& manifest, const OrderedMap<std::string>& values = {}) {
  auto hosts = AllowedHosts::parse(manifest, "app", values);
  if (hosts.ok()) {
    ADD_FAILURE() << "parsed, but should have been rejected";
    return OutboundHostsError{};
  }
  return hosts.error();
}

// The error for a single allowed_outbound_hosts entry, as a user reads it.
std::string error_for(std::string entry) {
  return must_fail(app_with({std::move(entry)})).describe();
}

OutboundUrl url(std::string_view text, std::string_view default_scheme = "https") {
  auto parsed = parse_outbound_url(text, default_scheme);
  if (!parsed.ok()) {
    ADD_FAILURE() << "url " << text << ": " << parsed.error();
    return OutboundUrl{};
  }
  return std::move(parsed).value();
}

bool allows(const AllowedHosts& hosts, std::string_view text,
            std::string_view default_scheme = "https") {
  return hosts.allows(url(text, default_scheme));
}

constexpr std::string_view kMalformed = "`allowed_outbound_hosts` is malformed: ";
constexpr std::string_view kLearnMore =
    "Learn more: "
    "https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

// ---------------------------------------------------------------------------------------
// Outbound URLs: what a request's URL is checked as.

TEST(OutboundUrl, SchemeHostAndPortAsTheUrlParserCanonicalisesThem) {
  OutboundUrl u = url("HTTPS://API.Example.COM:8443/path?q=1");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.authority(), "api.example.com:8443");

  // The scheme's default port is no port at all.
  EXPECT_EQ(url("http://example.com:80/").port, std::nullopt);
  EXPECT_EQ(url("https://example.com:443").port, std::nullopt);
  EXPECT_EQ(url("http://example.com:443").port, 443);
  EXPECT_EQ(url("http://example.com:80").authority(), "example.com");

  EXPECT_EQ(url("http://bücher.example/").host, "xn--bcher-kva.example");
  EXPECT_EQ(url("http://0x7f.1/").host, "127.0.0.1");
  EXPECT_EQ(url("http://[0:0:0::1]:8080/").host, "[::1]");
  EXPECT_EQ(url("http://[0:0:0::1]:8080/").authority(), "[::1]:8080");
  // Other schemes keep their ports and, as the URL standard says, the case of their hosts.
  EXPECT_EQ(url("tcp://127.0.0.1:63551").port, 63551);
  EXPECT_EQ(url("redis://Cache.Local").host, "Cache.Local");
}

TEST(OutboundUrl, AtSignsInPathsAndPasswords) {
  EXPECT_EQ(url("https://example.com/file@0.1.0.json").host, "example.com");
  EXPECT_EQ(url("https://user:password@example.com/file@0.1.0.json").host, "example.com");
  EXPECT_EQ(url("https://user:pass#word@example.com/file@0.1.0.json").host, "example.com");
  EXPECT_EQ(url("https://user:password@example.com").host, "example.com");
}

TEST(OutboundUrl, WithoutSchemeTheDefaultSchemeIsAssumed) {
  OutboundUrl u = url("example.com:8383", "http");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(u.port, 8383);
  EXPECT_EQ(url("127.0.0.1:3000", "tcp").scheme, "tcp");
  EXPECT_EQ(url("user%3Apass%23word@xyz.com", "mysql").host, "xyz.com");

  auto empty = parse_outbound_url("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error(), "relative URL without a base");
}

// ---------------------------------------------------------------------------------------
// Entries: what each form allows and denies.

TEST(AllowedHosts, NothingIsAllowedByDefault) {
  AllowedHosts none = hosts_for({});
  EXPECT_FALSE(allows(none, "https://example.com"));
  EXPECT_FALSE(none.allows_self());
  EXPECT_FALSE(AllowedHosts{}.allows(url("http://localhost")));
}

TEST(AllowedHosts, PortDefaultsToTheSchemesWellKnownPort) {
  for (const char* entry :
       {"http://spin.fermyon.dev", "http://spin.fermyon.dev/", " http://spin.fermyon.dev "}) {
    AllowedHosts hosts = hosts_for({entry});
    EXPECT_TRUE(allows(hosts, "http://spin.fermyon.dev")) << entry;
    EXPECT_TRUE(allows(hosts, "http://spin.fermyon.dev:80/a/b?c")) << entry;
    EXPECT_FALSE(allows(hosts, "http://spin.fermyon.dev:8080")) << entry;
    EXPECT_FALSE(allows(hosts, "https://spin.fermyon.dev")) << entry;
    EXPECT_FALSE(allows(hosts, "http://fermyon.dev")) << entry;
  }
  AllowedHosts https = hosts_for({"https://spin.fermyon.dev"});
  EXPECT_TRUE(allows(https, "https://spin.fermyon.dev/"));
  EXPECT_FALSE(allows(https, "http://spin.fermyon.dev:443/"));  // port right, scheme wrong

  // The well-known ports, whether the URL names them or (meaning the same) leaves them out.
  struct {
    const char* entry;
    const char* with_port;
    const char* without_port;
  } well_known[] = {
      {"redis://cache", "redis://cache:6379", "redis://cache"},
      {"mysql://db", "mysql://db:3306", "mysql://db"},
      {"postgres://db", "postgres://db:5432", "postgres://db"},
      {"mqtt://broker", "mqtt://broker:1883", "mqtt://broker"},
  };
  for (const auto& c : well_known) {
    AllowedHosts hosts = hosts_for({c.entry});
    EXPECT_TRUE(allows(hosts, c.with_port)) << c.entry;
    EXPECT_TRUE(allows(hosts, c.without_port)) << c.entry;
    EXPECT_FALSE(allows(hosts, std::string(c.with_port) + "1")) << c.entry;
  }
  // Other schemes have none: a URL without a port matches only an entry with port `*`.
  EXPECT_FALSE(allows(hosts_for({"tcp://h:80"}), "tcp://h"));
  EXPECT_TRUE(allows(hosts_for({"tcp://h:*"}), "tcp://h"));
}

TEST(AllowedHosts, ExplicitPortsAndRanges) {
  AllowedHosts one = hosts_for({"http://spin.fermyon.dev:4444"});
  EXPECT_TRUE(allows(one, "http://spin.fermyon.dev:4444"));
  EXPECT_FALSE(allows(one, "http://spin.fermyon.dev"));
  EXPECT_TRUE(allows(hosts_for({"http://spin.fermyon.dev:4444/"}), "http://spin.fermyon.dev:4444"));
  EXPECT_TRUE(allows(hosts_for({"http://spin.fermyon.dev:+80"}), "http://spin.fermyon.dev"));

  // A range includes its start and excludes its end, as Rust's 4444..5555 does.
  AllowedHosts range = hosts_for({"http://spin.fermyon.dev:4444..5555"});
  EXPECT_TRUE(allows(range, "http://spin.fermyon.dev:4444"));
  EXPECT_TRUE(allows(range, "http://spin.fermyon.dev:5554"));
  EXPECT_FALSE(allows(range, "http://spin.fermyon.dev:5555"));
  EXPECT_FALSE(allows(range, "http://spin.fermyon.dev:4443"));
  EXPECT_FALSE(allows(hosts_for({"http://h:9..9"}), "http://h:9"));  // empty, yet accepted

  AllowedHosts any_port = hosts_for({"http://spin.fermyon.dev:*"});
  EXPECT_TRUE(allows(any_port, "http://spin.fermyon.dev"));
  EXPECT_TRUE(allows(any_port, "http://spin.fermyon.dev:65535"));
  EXPECT_FALSE(allows(any_port, "https://spin.fermyon.dev"));
}

TEST(AllowedHosts, SchemeWildcard) {
  AllowedHosts hosts = hosts_for({"*://spin.fermyon.dev:7777"});
  EXPECT_TRUE(allows(hosts, "http://spin.fermyon.dev:7777"));
  EXPECT_TRUE(allows(hosts, "https://spin.fermyon.dev:7777"));
  EXPECT_TRUE(allows(hosts, "tcp://spin.fermyon.dev:7777"));
  EXPECT_FALSE(allows(hosts, "https://spin.fermyon.dev"));
  // A scheme is compared as written: an upper-case one never matches a URL's.
  EXPECT_FALSE(allows(hosts_for({"HTTP://example.com:80"}), "http://example.com"));
}

TEST(AllowedHosts, HostNamesAreCanonicalisedLikeUrlHosts) {
  AllowedHosts hosts = hosts_for({"http://Example.COM", "https://bücher.example"});
  EXPECT_TRUE(allows(hosts, "http://example.com"));
  EXPECT_TRUE(allows(hosts, "http://EXAMPLE.com/"));
  EXPECT_TRUE(allows(hosts, "https://xn--bcher-kva.example/"));
  EXPECT_TRUE(allows(hosts, "https://bücher.example/"));
  EXPECT_FALSE(allows(hosts, "http://www.example.com"));
  EXPECT_TRUE(allows(hosts_for({"http://localhost"}), "http://localhost/"));
  EXPECT_TRUE(allows(hosts_for({"http://localhost:3001"}), "http://localhost:3001/"));
}

TEST(AllowedHosts, SubdomainWildcards) {
  AllowedHosts hosts = hosts_for({"http://*.example.com", "http://*.example2.com:8383"});
  EXPECT_TRUE(allows(hosts, "http://a.example.com/foo/bar"));
  EXPECT_TRUE(allows(hosts, "http://a.b.example.com/foo/bar"));
  EXPECT_TRUE(allows(hosts, "http://a.b.example2.com:8383/foo/bar"));
  EXPECT_FALSE(allows(hosts, "http://a.b.example2.com/foo/bar"));
  EXPECT_FALSE(allows(hosts, "http://example.com/foo/bar"));
  EXPECT_FALSE(allows(hosts, "http://example.com:8383/foo/bar"));
  EXPECT_FALSE(allows(hosts, "http://myexample.com/foo/bar"));
  // Subdomain patterns match names only, never addresses.
  EXPECT_FALSE(allows(hosts_for({"http://*.0.0.1"}), "http://127.0.0.1"));
}

TEST(AllowedHosts, IpAddresses) {
  AllowedHosts v4 = hosts_for({"http://192.168.1.1", "http://192.168.1.2:3002"});
  EXPECT_TRUE(allows(v4, "http://192.168.1.1"));
  EXPECT_TRUE(allows(v4, "http://0xC0.168.1.1/"));  // the same address, spelt otherwise
  EXPECT_FALSE(allows(v4, "http://192.168.1.2"));
  EXPECT_TRUE(allows(v4, "http://192.168.1.2:3002"));

  AllowedHosts v6 = hosts_for({"http://[::1]:8001"});
  EXPECT_TRUE(allows(v6, "http://[::1]:8001/"));
  EXPECT_TRUE(allows(v6, "http://[0:0:0:0:0:0:0:1]:8001/"));
  EXPECT_FALSE(allows(v6, "http://[::2]:8001/"));
  EXPECT_FALSE(allows(v6, "http://127.0.0.1:8001/"));
}

TEST(AllowedHosts, CidrRanges) {
  AllowedHosts v4 = hosts_for({"*://127.0.0.0/24:80"});
  EXPECT_TRUE(allows(v4, "http://127.0.0.1"));
  EXPECT_TRUE(allows(v4, "http://127.0.0.255:80"));
  EXPECT_FALSE(allows(v4, "http://127.0.1.0"));
  EXPECT_FALSE(allows(v4, "http://127.0.0.1:81"));
  EXPECT_FALSE(allows(v4, "http://localhost"));  // ranges match addresses only

  // Host bits are dropped: 127.0.0.1/24 is 127.0.0.0/24.
  AllowedHosts truncated = hosts_for({"*://127.0.0.1/24:63551"});
  EXPECT_TRUE(allows(truncated, "tcp://127.0.0.1:63551"));
  EXPECT_TRUE(allows(truncated, "127.0.0.200:63551", "tcp"));
  EXPECT_EQ(truncated.entries().at(0).host.text, "127.0.0.0/24");

  AllowedHosts ten = hosts_for({"http://10.0.0.0/8"});
  EXPECT_TRUE(allows(ten, "http://10.1.2.3/"));
  EXPECT_FALSE(allows(ten, "http://11.0.0.1/"));
  EXPECT_FALSE(allows(ten, "http://[::ffff:10.1.2.3]/"));  // an IPv6 address, however mapped

  AllowedHosts v6 = hosts_for({"*://ff00::/8:80"});
  EXPECT_TRUE(allows(v6, "http://[ff01::1]/"));
  EXPECT_FALSE(allows(v6, "http://[fe80::1]/"));
  EXPECT_FALSE(allows(v6, "http://255.0.0.1/"));

  AllowedHosts all_v4 = hosts_for({"*://0.0.0.0/0:*"});
  EXPECT_TRUE(allows(all_v4, "tcp://8.8.8.8:53"));
  EXPECT_FALSE(allows(all_v4, "http://example.com"));
}

TEST(AllowedHosts, AllowAllAndAnyHost) {
  AllowedHosts all = hosts_for({"*://*:*"});
  EXPECT_TRUE(allows(all, "http://example.com"));
  EXPECT_TRUE(allows(all, "tcp://1.2.3.4:5"));
  EXPECT_TRUE(allows(all, "ftp://example.com"));  // no well-known port needed
  EXPECT_TRUE(all.allows_self());
  EXPECT_TRUE(all.allows_service_chaining("not-a-component"));
  // A host the URL parser rejects is not allowed even so.
  EXPECT_FALSE(all.allows(OutboundUrl{"http", "exa mple.com", std::nullopt}));

  AllowedHosts https_any = hosts_for({"https://*:*"});
  EXPECT_TRUE(allows(https_any, "https://example.com"));
  EXPECT_TRUE(allows(https_any, "https://10.0.0.1:8443/"));
  EXPECT_FALSE(allows(https_any, "http://example.com"));

  AllowedHosts https_default = hosts_for({"https://*"});
  EXPECT_TRUE(allows(https_default, "https://example.com/"));
  EXPECT_FALSE(allows(https_default, "https://example.com:8443/"));
}

TEST(AllowedHosts, SeveralEntriesAnyOfWhichAllows) {
  AllowedHosts hosts = hosts_for({"*://spin.fermyon.dev:443", "http://example.com:8383"});
  EXPECT_TRUE(allows(hosts, "http://example.com:8383/foo/bar"));
  EXPECT_TRUE(allows(hosts, "https://spin.fermyon.dev"));
  EXPECT_TRUE(allows(hosts, "https://spin.fermyon.dev/"));
  EXPECT_FALSE(allows(hosts, "http://example.com/"));
  EXPECT_FALSE(allows(hosts, "http://google.com/"));
  EXPECT_TRUE(allows(hosts, "spin.fermyon.dev:443", "https"));
  EXPECT_TRUE(allows(hosts, "example.com:8383", "http"));

  AllowedHosts slash = hosts_for({"https://my.api.com/"});
  EXPECT_TRUE(allows(slash, "https://my.api.com"));
  EXPECT_TRUE(allows(slash, "https://my.api.com/"));

  AllowedHosts db = hosts_for({"mysql://xyz.com"});
  EXPECT_TRUE(allows(db, "mysql://user:pass#word@xyz.com", "mysql"));
  EXPECT_TRUE(allows(db, "mysql://user%3Apass%23word@xyz.com", "mysql"));
  EXPECT_TRUE(allows(db, "user%3Apass%23word@xyz.com", "mysql"));
}

// ---------------------------------------------------------------------------------------
// Self requests and service chaining.

TEST(AllowedHosts, SelfAllowsOnlyRequestsToTheAppItself) {
  for (const char* entry : {"http://self", "https://self", "http://self.alt", "*://self:*",
                            "http://*:*", "https://*"}) {
    EXPECT_TRUE(hosts_for({entry}).allows_self()) << entry;
  }
  for (const char* entry :
       {"redis://self", "http://localhost", "http://'self'", "http://*.example.com"}) {
    EXPECT_FALSE(hosts_for({entry}).allows_self()) << entry;
  }
  // The `*` scheme has no well-known port, so `*://self` needs one, which `self` ignores.
  EXPECT_NE(error_for("*://self").find("no port was provided and the scheme \"*\""),
            std::string::npos);
  // `self` permits relative requests, not a host that happens to be called self.
  AllowedHosts self = hosts_for({"http://self"});
  EXPECT_FALSE(allows(self, "http://self/api"));
  EXPECT_FALSE(allows(self, "http://self.alt/api"));
  // Quoted, it is just an (odd) host name, as in Spin.
  EXPECT_TRUE(allows(hosts_for({"http://'self'"}), "http://'self'/"));
}

TEST(AllowedHosts, ServiceChainingWildcardStandsForEachComponentOfTheApp) {
  AllowedHosts hosts =
      hosts_for({"pg://localhost:5656", "http://*.spin.internal", "https://spinframework.dev"});
  ASSERT_EQ(hosts.entries().size(), 5u);
  EXPECT_EQ(hosts.entries()[0].host.text, "localhost");
  EXPECT_EQ(hosts.entries()[1].host.text, "app.spin.internal");
  EXPECT_EQ(hosts.entries()[2].host.text, "other.spin.internal");
  EXPECT_EQ(hosts.entries()[3].host.text, "third.spin.internal");
  EXPECT_EQ(hosts.entries()[4].host.text, "spinframework.dev");

  EXPECT_TRUE(hosts.allows_service_chaining("other"));
  EXPECT_TRUE(hosts.allows_service_chaining("third"));
  EXPECT_TRUE(allows(hosts, "http://other.spin.internal/api"));
  EXPECT_FALSE(allows(hosts, "https://other.spin.internal/api"));
  EXPECT_FALSE(hosts.allows_service_chaining("missing"));
  EXPECT_FALSE(allows(hosts, "http://missing.spin.internal/"));
  EXPECT_TRUE(hosts.requires_service_chaining());
}

TEST(AllowedHosts, ServiceChainingToOneComponent) {
  AllowedHosts hosts = hosts_for({"http://other.spin.internal"});
  EXPECT_TRUE(hosts.allows_service_chaining("other"));
  EXPECT_FALSE(hosts.allows_service_chaining("third"));
  EXPECT_TRUE(hosts.requires_service_chaining());
  EXPECT_FALSE(hosts_for({"https://example.com", "http://*:*"}).requires_service_chaining());
}

TEST(ServiceChainingTarget, NamesTheComponentOfASpinInternalHost) {
  EXPECT_EQ(service_chaining_target("comp.spin.internal"), "comp");
  EXPECT_EQ(service_chaining_target("comp.spin.internal:8080"), "comp");
  EXPECT_EQ(service_chaining_target("a.b.spin.internal"), std::nullopt);
  EXPECT_EQ(service_chaining_target("spin.internal"), std::nullopt);
  EXPECT_EQ(service_chaining_target("example.com"), std::nullopt);
}

// ---------------------------------------------------------------------------------------
// Malformed entries, in Spin's words.

TEST(AllowedHostsErrors, MissingScheme) {
  EXPECT_EQ(error_for("spin.fermyon.dev"),
            std::string(kMalformed) +
                "\"spin.fermyon.dev\" does not contain a scheme (e.g., 'http://' or '*://')\n" +
                std::string(kLearnMore));
  EXPECT_EQ(error_for("localhost:3001"),
            std::string(kMalformed) +
                "\"localhost:3001\" does not contain a scheme (e.g., 'http://' or '*://')\n" +
                std::string(kLearnMore));
  for (const char* entry : {"*", ":", "", "?"}) {
    EXPECT_EQ(error_for(entry),
              std::string(kMalformed) + "\"" + entry +
                  "\" is not an allowed outbound host format.\nHosts must be in the form "
                  "<scheme>://<host>[:<port>], with '*' wildcards allowed for each.\n"
                  "If you intended to allow all outbound networking, you can use "
                  "'*://*:*' - this will obviate all network sandboxing.\n" +
                  std::string(kLearnMore))
        << entry;
  }
}

TEST(AllowedHostsErrors, InsecureAllowAllIsRefused) {
  EXPECT_EQ(
      error_for("insecure:allow-all"),
      std::string(kMalformed) +
          "'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow "
          "all outbound traffic'");
  // Next to other entries it is just an entry without a scheme.
  OutboundHostsError e = must_fail(app_with({"http://example.com", "insecure:allow-all"}));
  EXPECT_EQ(e.entry, "insecure:allow-all");
  EXPECT_TRUE(e.describe().find("does not contain a scheme") != std::string::npos);
}

TEST(AllowedHostsErrors, Ports) {
  const std::string entry = std::string(kMalformed) + "entry ";
  EXPECT_EQ(
      error_for("http://example.com:abc"),
      entry +
          "\"http://example.com:abc\": Invalid allowed host port \"abc\": port \"abc\" is not a "
          "number: invalid digit found in string");
  EXPECT_EQ(
      error_for("http://example.com:70000"),
      entry +
          "\"http://example.com:70000\": Invalid allowed host port \"70000\": port \"70000\" is "
          "not a number: number too large to fit in target type");
  EXPECT_EQ(error_for("http://example.com:-1"),
            entry +
                "\"http://example.com:-1\": Invalid allowed host port \"-1\": port \"-1\" is not a "
                "number: invalid digit found in string");
  EXPECT_EQ(
      error_for("http://example.com:1..x"),
      entry +
          "\"http://example.com:1..x\": Invalid allowed host port \"1..x\": port range \"1..x\" "
          "contains non-number: invalid digit found in string");
  EXPECT_EQ(
      error_for("http://example.com:..80"),
      entry +
          "\"http://example.com:..80\": Invalid allowed host port \"..80\": port range \"..80\" "
          "contains non-number: cannot parse integer from empty string");
  EXPECT_EQ(
      error_for("http://example.com:{80,443}"),
      entry +
          "\"http://example.com:{80,443}\": Invalid allowed host port \"{80,443}\": port lists "
          "are not yet supported");
  // Without a port, the scheme must have a well-known one.
  EXPECT_EQ(
      error_for("ftp://example.com"),
      entry +
          "\"ftp://example.com\": Invalid allowed host port \"\": no port was provided and the "
          "scheme \"ftp\" does not have a known default port number");
  EXPECT_EQ(
      error_for("*://127.0.0.0/24"),
      entry +
          "\"*://127.0.0.0/24\": Invalid allowed host port \"\": no port was provided and the "
          "scheme \"*\" does not have a known default port number");
  // The port is whatever follows the last ':', which a bracketed IPv6 address needs.
  EXPECT_EQ(error_for("http://[::1]"),
            entry +
                "\"http://[::1]\": Invalid allowed host port \"1]\": port \"1]\" is not a number: "
                "invalid digit found in string");
}

TEST(AllowedHostsErrors, Schemes) {
  const std::string entry = std::string(kMalformed) + "entry ";
  EXPECT_EQ(
      error_for("ht-tp://example.com:80"),
      entry +
          "\"ht-tp://example.com:80\": Invalid allowed host scheme \"ht-tp\": only alphabetic "
          "characters are allowed");
  EXPECT_EQ(error_for("{http,https}://example.com:80"),
            entry +
                "\"{http,https}://example.com:80\": Invalid allowed host scheme \"{http,https}\": "
                "scheme lists are not supported");
}

TEST(AllowedHostsErrors, Hosts) {
  const std::string entry = std::string(kMalformed) + "entry ";
  EXPECT_EQ(
      error_for("http://{a,b}"),
      entry + "\"http://{a,b}\": Invalid allowed host \"{a,b}\": host lists are not yet supported");
  EXPECT_EQ(
      error_for("http://{a"),
      entry +
          "\"http://{a\": Invalid allowed host \"{a\": Condition failed: `host.ends_with('}')`");
  EXPECT_EQ(
      error_for("http://foo.*.com"),
      entry +
          "\"http://foo.*.com\": Invalid allowed host \"foo.*.com\": wildcards are allowed only as "
          "subdomains");
  EXPECT_EQ(
      error_for("http://*.*.com"),
      entry +
          "\"http://*.*.com\": Invalid allowed host \"*.*.com\": wildcards are allowed only as "
          "prefixes");
  EXPECT_EQ(
      error_for("http://exa mple.com"),
      entry +
          "\"http://exa mple.com\": Invalid allowed host \"exa mple.com\": invalid international "
          "domain name");
  EXPECT_EQ(
      error_for("http://300.1.1.1"),
      entry + "\"http://300.1.1.1\": Invalid allowed host \"300.1.1.1\": invalid IPv4 address");
  EXPECT_EQ(error_for("http://[::1:]:80"),
            entry + "\"http://[::1:]:80\": Invalid allowed host \"[::1:]\": invalid IPv6 address");
  // A CIDR range whose prefix is too long is no range, but a path.
  EXPECT_EQ(
      error_for("http://10.0.0.0/33"),
      entry +
          "\"http://10.0.0.0/33\": Invalid allowed host \"10.0.0.0/33\": must not include a path");
}

TEST(AllowedHostsErrors, Paths) {
  const std::string entry = std::string(kMalformed) + "entry ";
  EXPECT_EQ(
      error_for("http://spin.fermyon.dev/a"),
      entry +
          "\"http://spin.fermyon.dev/a\": Invalid allowed host \"spin.fermyon.dev/a\": must not "
          "include a path");
  EXPECT_EQ(error_for("http://spin.fermyon.dev:6666/a/b"),
            std::string(kMalformed) +
                "\"http://spin.fermyon.dev:6666/a/b\" has a path but is not allowed to");
  EXPECT_EQ(
      error_for("http://*.fermyon.dev/a"),
      entry +
          "\"http://*.fermyon.dev/a\": Invalid allowed host \"*.fermyon.dev/a\": must not include "
          "a path");
}

TEST(AllowedHostsErrors, TheFirstBadEntryIsReported) {
  OutboundHostsError e = must_fail(app_with({"https://fine.example", "http://a:b", "ftp://c"}));
  EXPECT_EQ(e.entry, "http://a:b");
  EXPECT_TRUE(e.rejects_app);
  EXPECT_EQ(e.context, "`allowed_outbound_hosts` is malformed");
}

// ---------------------------------------------------------------------------------------
// Templates.

OrderedMap<Variable> variables_with_defaults(
    std::initializer_list<std::pair<std::string, std::string>> defaults) {
  OrderedMap<Variable> variables;
  for (const auto& [name, value] : defaults)
    variables.insert(name, Variable{value, false, false, std::nullopt});
  return variables;
}

TEST(AllowedHostsTemplates, VariablesAreResolvedFirst) {
  Manifest manifest = app_with(
      {"https://{{ api_host }}", "redis://{{ cache }}:{{ cache_port }}"}, {},
      variables_with_defaults(
          {{"api_host", "example.com"}, {"cache", "cache.local"}, {"cache_port", "6380"}}));
  AllowedHosts hosts = must_parse(
      manifest,
      {{"api_host", "api.example.com"}, {"cache", "cache.local"}, {"cache_port", "6380"}});
  EXPECT_TRUE(allows(hosts, "https://api.example.com/v1"));
  EXPECT_FALSE(allows(hosts, "https://example.com/v1"));  // the default was overridden
  EXPECT_TRUE(allows(hosts, "redis://cache.local:6380"));
  EXPECT_FALSE(allows(hosts, "redis://cache.local"));
  EXPECT_EQ(hosts.entries().at(0).original, "https://api.example.com");
}

TEST(AllowedHostsTemplates, RequiredVariables) {
  OrderedMap<Variable> variables;
  variables.insert("host", Variable{std::nullopt, true, false, std::nullopt});
  AllowedHosts hosts =
      must_parse(app_with({"http://{{host}}:8080"}, {}, variables), {{"host", "10.0.0.7"}});
  EXPECT_TRUE(allows(hosts, "http://10.0.0.7:8080/"));
}

TEST(AllowedHostsTemplates, UnknownVariableDeniesEverythingButLetsTheAppStart) {
  OutboundHostsError e = must_fail(app_with({"https://example.com", "https://{{ nope }}"}));
  EXPECT_FALSE(e.rejects_app);
  EXPECT_EQ(e.describe(),
            "Error parsing allowed outbound hosts: entry \"https://{{ nope }}\": invalid variable "
            "name: nope");
}

TEST(AllowedHostsTemplates, UnmatchedBraces) {
  OutboundHostsError e = must_fail(app_with({"https://{{ host"}));
  EXPECT_TRUE(e.rejects_app);
  EXPECT_EQ(e.describe(),
            std::string(kMalformed) +
                "entry \"https://{{ host\": invalid variable template: unmatched '{{' in template");
}

TEST(AllowedHostsTemplates, DefaultsAreCheckedWhenTheAppLoads) {
  // Spin's loader test invalid-variable-default-in-allowed-hosts: the default makes a bad
  // entry, so the app does not load whatever value the variable gets.
  Manifest manifest = app_with({"https://{{ invalid_default_host }}"}, {},
                               variables_with_defaults({{"invalid_default_host", "invalid host"}}));
  OutboundHostsError e = must_fail(manifest, {{"invalid_default_host", "example.com"}});
  EXPECT_TRUE(e.rejects_app);
  EXPECT_EQ(e.describe(),
            std::string(kMalformed) +
                "using default variable value(s) with template \"https://{{ invalid_default_host "
                "}}\" results in invalid config \"https://invalid host\": Invalid allowed host "
                "\"invalid host\": invalid international domain name");
}

TEST(AllowedHostsTemplates, BadValuesAreFoundWhenRequestsAreChecked) {
  Manifest manifest =
      app_with({"https://{{ host }}"}, {}, variables_with_defaults({{"host", "example.com"}}));
  OutboundHostsError e = must_fail(manifest, {{"host", "example.com/path"}});
  EXPECT_FALSE(e.rejects_app);
  EXPECT_EQ(e.describe(),
            "Error parsing allowed outbound hosts: entry \"https://{{ host }}\": Invalid allowed "
            "host \"example.com/path\": must not include a path");
}

// ---------------------------------------------------------------------------------------
// The deprecated allowed_http_hosts.

std::vector<std::string> converted(std::vector<std::string> hosts) {
  auto result = convert_allowed_http_hosts(hosts);
  if (!result.ok()) {
    ADD_FAILURE() << result.error();
    return {};
  }
  return std::move(result).value();
}

using Strings = std::vector<std::string>;

TEST(AllowedHttpHosts, ConvertedAsSpinConvertsThem) {
  EXPECT_EQ(converted({"http://spin.fermyon.dev"}),
            (Strings{"http://spin.fermyon.dev", "https://spin.fermyon.dev"}));
  EXPECT_EQ(converted({"http://spin.fermyon.dev/"}),
            (Strings{"http://spin.fermyon.dev", "https://spin.fermyon.dev"}));
  EXPECT_EQ(converted({"https://spin.fermyon.dev"}),
            (Strings{"http://spin.fermyon.dev", "https://spin.fermyon.dev"}));
  EXPECT_EQ(converted({"http://spin.fermyon.dev:4444"}),
            (Strings{"http://spin.fermyon.dev:4444", "https://spin.fermyon.dev:4444"}));
  EXPECT_EQ(converted({"https://spin.fermyon.dev:5555"}),
            (Strings{"http://spin.fermyon.dev:5555", "https://spin.fermyon.dev:5555"}));
  EXPECT_EQ(converted({"spin.fermyon.dev"}),
            (Strings{"http://spin.fermyon.dev", "https://spin.fermyon.dev"}));
  EXPECT_EQ(converted({"spin.fermyon.dev:7777"}),
            (Strings{"http://spin.fermyon.dev:7777", "https://spin.fermyon.dev:7777"}));
  EXPECT_EQ(converted({"self"}), (Strings{"http://self"}));
  EXPECT_EQ(converted({"localhost:3001"}),
            (Strings{"http://localhost:3001", "https://localhost:3001"}));
  EXPECT_EQ(converted({"192.168.1.1:3002"}),
            (Strings{"http://192.168.1.1:3002", "https://192.168.1.1:3002"}));
  EXPECT_EQ(converted({"[::1]"}), (Strings{"http://[::1]", "https://[::1]"}));
  EXPECT_EQ(converted({"http://[::1]:8001"}), (Strings{"http://[::1]:8001", "https://[::1]:8001"}));
  // The port of the host's URL (http, unless given) is dropped when it is its default.
  EXPECT_EQ(converted({"Example.com:80"}), (Strings{"http://example.com", "https://example.com"}));
  EXPECT_EQ(converted({"example.com:443"}),
            (Strings{"http://example.com:443", "https://example.com:443"}));
  EXPECT_EQ(converted({"insecure:allow-all"}),
            (Strings{"http://*:*", "https://*:*", "http://self"}));
  EXPECT_EQ(converted({"spin.fermyon.dev", "insecure:allow-all"}),
            (Strings{"http://*:*", "https://*:*", "http://self"}));
}

TEST(AllowedHttpHosts, EveryBadEntryIsListed) {
  // Spin's loader test invalid-url-in-allowed-http-hosts.
  auto result =
      convert_allowed_http_hosts({"ftp://random-data-api.fermyon.app", "example.com/wib/wob"});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error(),
            "One or more allowed_http_hosts entries was invalid:\n"
            "ftp://random-data-api.fermyon.app isn't a valid host or host:port string\n"
            "example.com/wib/wob contains a path, should be host and optional port only");
  EXPECT_FALSE(convert_allowed_http_hosts({"http://spin.fermyon.dev:6666/a/b"}).ok());
  auto bad_port = convert_allowed_http_hosts({"http://example.com:x"});
  ASSERT_FALSE(bad_port.ok());
  EXPECT_EQ(bad_port.error(),
            "One or more allowed_http_hosts entries was invalid:\n"
            "http://example.com:x isn't a valid HTTP host URL: invalid port number");
}

TEST(AllowedHttpHosts, AddedAfterAllowedOutboundHosts) {
  AllowedHosts hosts = must_parse(app_with({"redis://cache"}, {"example.com", "self"}));
  ASSERT_EQ(hosts.entries().size(), 4u);
  EXPECT_EQ(hosts.entries()[0].original, "redis://cache");
  EXPECT_TRUE(allows(hosts, "http://example.com/"));
  EXPECT_TRUE(allows(hosts, "https://example.com/"));
  EXPECT_FALSE(allows(hosts, "https://example.com:8443/"));
  EXPECT_TRUE(hosts.allows_self());
  EXPECT_EQ(hosts.deprecation_warning(),
            "Use of the deprecated field `allowed_http_hosts` - to fix, replace "
            "`allowed_http_hosts` with "
            "`allowed_outbound_hosts = [\"http://example.com\", \"https://example.com\", "
            "\"http://self\"]`");
  EXPECT_EQ(hosts_for({"https://example.com"}).deprecation_warning(), "");

  AllowedHosts all = must_parse(app_with({}, {"insecure:allow-all"}));
  EXPECT_TRUE(allows(all, "http://anything.example:1234/"));
  EXPECT_FALSE(allows(all, "redis://anything.example:1234"));
}

TEST(AllowedHttpHosts, ErrorsRejectTheApp) {
  OutboundHostsError e = must_fail(app_with({}, {"ftp://example.com"}));
  EXPECT_TRUE(e.rejects_app);
  EXPECT_EQ(
      e.describe(),
      "`allowed_http_hosts` is malformed: One or more allowed_http_hosts entries was invalid:\n"
      "ftp://example.com isn't a valid host or host:port string");
  // A converted IPv6 host without a port does not survive allowed_outbound_hosts' parser.
  EXPECT_EQ(must_fail(app_with({}, {"[::1]"})).describe(),
            std::string(kMalformed) +
                "entry \"http://[::1]\": Invalid allowed host port \"1]\": port \"1]\" is "
                "not a number: invalid digit found in string");
}

// ---------------------------------------------------------------------------------------
// What Spin prints for a denied request.

TEST(DeniedMessage, NamesTheDestinationAndTheEntryThatWouldAllowIt) {
  EXPECT_EQ(
      denied_message(url("https://api.example.com:8443/v1?q")),
      "Warning: A component tried to make an outbound network connection to disallowed destination "
      "'https://api.example.com:8443'.\n"
      "To allow this request, add 'allowed_outbound_hosts = [\"https://api.example.com:8443\"]' to "
      "the "
      "manifest component section.\n");
  EXPECT_EQ(
      denied_message(url("http://Example.com:80/")),
      "Warning: A component tried to make an outbound network connection to disallowed destination "
      "'http://example.com'.\n"
      "To allow this request, add 'allowed_outbound_hosts = [\"http://example.com\"]' to the "
      "manifest "
      "component section.\n");
  EXPECT_EQ(
      denied_message("tcp", "127.0.0.1:5432"),
      "Warning: A component tried to make an outbound network connection to disallowed destination "
      "'tcp://127.0.0.1:5432'.\n"
      "To allow this request, add 'allowed_outbound_hosts = [\"tcp://127.0.0.1:5432\"]' to the "
      "manifest "
      "component section.\n");
}

TEST(DeniedMessage, SelfRequests) {
  EXPECT_EQ(
      denied_self_message(),
      "Warning: A component tried to make an HTTP request to its own app but it does not have "
      "permission.\n"
      "To allow this request, add 'allowed_outbound_hosts = [\"http://self\"]' to the manifest "
      "component "
      "section.\n");
}

// ---------------------------------------------------------------------------------------
// From spin.toml to decisions, as `gyre up` goes.

TEST(AllowedHostsFromManifest, ParsedManifestAndResolvedVariables) {
  auto manifest = parse_manifest(R"(
spin_manifest_version = 2

[application]
name = "outbound"

[variables]
api_host = { default = "api.example.com" }

[[trigger.http]]
route = "/..."
component = "front"

[[trigger.http]]
route = { private = true }
component = "back"

[component.front]
source = "front.wasm"
allowed_outbound_hosts = ["https://{{ api_host }}", "http://back.spin.internal", "http://self"]

[component.back]
source = "back.wasm"
)",
                                 "spin.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().describe();
  auto variables =
      resolve_variables(*manifest, {{"SPIN_VARIABLE_API_HOST", "staging.example.com"}});
  ASSERT_TRUE(variables.ok()) << variables.error().describe();

  auto front = AllowedHosts::parse(*manifest, "front", variables->application);
  ASSERT_TRUE(front.ok()) << front.error().describe();
  EXPECT_TRUE(allows(*front, "https://staging.example.com/items"));
  EXPECT_FALSE(allows(*front, "https://api.example.com/items"));
  EXPECT_TRUE(front->allows_service_chaining("back"));
  EXPECT_TRUE(front->allows_self());
  EXPECT_TRUE(front->requires_service_chaining());

  auto back = AllowedHosts::parse(*manifest, "back", variables->application);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_FALSE(allows(*back, "https://staging.example.com/items"));
  EXPECT_FALSE(back->allows_service_chaining("front"));
  EXPECT_FALSE(back->allows_self());

  EXPECT_FALSE(AllowedHosts::parse(*manifest, "missing", variables->application).ok());
}

}  // namespace
}  // namespace gyre::app
