// A component's outbound network permissions, decided exactly as Spin 3.6 decides them
// (crates/outbound-networking-config, factor-outbound-networking, manifest/compat).
//
// `allowed_outbound_hosts` entries have the form `scheme://host[:port]`:
// - scheme: `*` or a name ("http", "redis", ...); compared as written, so only lower-case
//   names ever match a URL.
// - host: `*`; `*.example.com` (any subdomain, not example.com itself); a name or IPv4 /
//   `[IPv6]` address, canonicalised as the URL parser canonicalises hosts (for non-ASCII
//   names, with the common part of UTS 46's mapping, not its full tables); a CIDR range
//   (`10.0.0.0/8`, `ff00::/8`, host bits dropped); `self` or `self.alt`, which allows only
//   relative requests (`/api/x`) to the app itself.
// - port: a number, `*`, or a range `4444..5555` (end excluded). Omitted, it is the
//   scheme's well-known port (http 80, https 443, redis 6379, mysql 3306, postgres 5432,
//   mqtt 1883) or, for any other scheme (`*` included), an error.
// - at most a trailing `/`, no path.
// `{{ variable }}` templates are resolved from application variables before parsing, and
// `http://*.spin.internal` stands for `http://<id>.spin.internal` for every component id
// of the app (service chaining), so it allows no other `.spin.internal` name.
// The deprecated `allowed_http_hosts` is converted and appended as Spin converts it.
//
// What Spin does not do is not done here either: `'self'` (quoted) is an ordinary host
// name, `*://*:*` is the only way to allow everything ("insecure:allow-all" is refused).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/manifest.hpp"
#include "app/ordered_map.hpp"
#include "base/result.hpp"

namespace gyre::app {

// The domain of service chaining: `http://<component-id>.spin.internal/...` reaches the
// component through the app's own router instead of the network.
inline constexpr std::string_view kServiceChainingDomain = "spin.internal";
// An authority host that some SDKs put on requests to the app itself
// (`http://self.alt/path`); Spin treats such requests as relative ones.
inline constexpr std::string_view kSelfRequestHost = "self.alt";

// Where an outbound request goes, as Spin's check sees it.
struct OutboundUrl {
  std::string scheme;  // lower-case
  // As the URL parser serialises it: lower-cased, non-ASCII labels in punycode, IPv4
  // in dotted decimal, IPv6 in brackets ("[::1]"); case is kept for schemes other than
  // http(s), ws(s), ftp and file, as the parser keeps it.
  std::string host;
  // Absent when the URL gives no port or its scheme's default one (http 80, https 443,
  // ws 80, wss 443, ftp 21); the check then uses the scheme's well-known port.
  std::optional<uint16_t> port;

  // "host" or "host:port": what Spin names in its denial message.
  std::string authority() const;
};

// Parses an absolute URL as Spin's check does (WHATWG URL rules), user info and path
// ignored. A string that is no URL with a host ("example.com:8383", "127.0.0.1:80") is
// retried as `<default_scheme>://<url>`; Spin's HTTP checks use "https".
Result<OutboundUrl, std::string> parse_outbound_url(std::string_view url,
                                                    std::string_view default_scheme = "https");

// One parsed allow-list entry.
struct AllowedHost {
  std::string original;               // as written (after template expansion)
  std::optional<std::string> scheme;  // absent for `*`
  struct Host {
    enum class Kind {
      kAny,         // `*`
      kSubdomains,  // `*.example.com`: `text` is the suffix ".example.com", as written
      kSelf,        // `self`, `self.alt`: relative requests only
      kName,        // `text` is the canonical domain name
      kAddress,     // an IPv4 or IPv6 address
      kNetwork,     // a CIDR range
    };
    Kind kind = Kind::kAny;
    std::string text;
    bool ipv6 = false;                  // kAddress, kNetwork
    std::array<uint8_t, 16> address{};  // network order; IPv4 in the first 4 bytes
    uint8_t prefix_length = 0;          // kNetwork
  } host;
  struct Port {
    bool any = false;    // `*`
    uint32_t first = 0;  // otherwise ports first..end-1
    uint32_t end = 0;
  } port;
};

// Why a component's outbound host list cannot be used.
struct OutboundHostsError {
  // Spin's outermost words: "`allowed_outbound_hosts` is malformed", "`allowed_http_hosts`
  // is malformed", or, for a list only found wrong once variables have their final
  // values, "Error parsing allowed outbound hosts".
  std::string context;
  std::string entry;    // the entry at fault, as written; empty when not one entry
  std::string message;  // Spin's words for what is wrong, its causes joined by ": "
  // Spin refuses to load the app (true). Otherwise (a template whose final value is bad,
  // or names no variable) Spin starts the app, logs the error, and denies every outbound
  // request of the component: a caller can do the same with a default AllowedHosts.
  bool rejects_app = true;

  // context, the entry (unless message already quotes it), and message, joined by ": ".
  std::string describe() const;
};

// A component's allow-list.
class AllowedHosts {
 public:
  AllowedHosts() = default;  // allows nothing

  // The list of `component_id` in `manifest`: its allowed_outbound_hosts plus its
  // converted allowed_http_hosts, templates expanded from `app_variables` (the resolved
  // application variables). Spin checks templated entries twice, and so does this: with
  // the variables' defaults at load (rejects_app) and with their values at run time.
  static Result<AllowedHosts, OutboundHostsError> parse(
      const Manifest& manifest, std::string_view component_id,
      const OrderedMap<std::string>& app_variables);

  // Whether a request to this absolute URL is allowed. A host the URL parser rejects
  // is never allowed, not even by `*://*:*`.
  bool allows(const OutboundUrl& url) const;

  // Whether relative requests (`/path`, or to host `self.alt`) to the app itself are
  // allowed: by an http or https (or `*`) entry whose host is `self`, `self.alt` or `*`.
  bool allows_self() const;

  // Whether `http://<component_id>.spin.internal` is allowed (service chaining).
  bool allows_service_chaining(std::string_view component_id) const;

  // Whether an entry, before template expansion, names a `.spin.internal` host or
  // `*.spin.internal`: Spin's test for whether the component needs service chaining.
  bool requires_service_chaining() const { return requires_service_chaining_; }

  // Spin's warning (without its "Warning: " prefix) when the component uses
  // allowed_http_hosts, naming the entries that replace it; empty otherwise.
  const std::string& deprecation_warning() const { return deprecation_warning_; }

  // The parsed entries, `*.spin.internal` expanded.
  const std::vector<AllowedHost>& entries() const { return entries_; }

 private:
  std::vector<AllowedHost> entries_;
  bool requires_service_chaining_ = false;
  std::string deprecation_warning_;
};

// The component id a service chaining host names ("comp.spin.internal[:port]" -> "comp"),
// or nothing for any other host.
std::optional<std::string> service_chaining_target(std::string_view host);

// What Spin prints on stderr when it denies a request to scheme://authority, two lines
// ending in '\n': "Warning: A component tried to make an outbound network connection to
// disallowed destination 'https://example.com'.\nTo allow this request, add
// 'allowed_outbound_hosts = [\"https://example.com\"]' to the manifest component
// section.\n". For a relative request authority is "self" (and scheme "http"), and the
// first line says the component tried to make an HTTP request to its own app.
std::string denied_message(std::string_view scheme, std::string_view authority);
std::string denied_message(const OutboundUrl& url);
std::string denied_self_message();

// Spin's conversion of `allowed_http_hosts` into `allowed_outbound_hosts` entries:
// "example.com[:port]" or "http(s)://example.com[:port]" gives http:// and https://
// entries for that host and port, "self" gives "http://self", and "insecure:allow-all"
// anywhere in the list gives http://*:*, https://*:* and http://self. On failure, Spin's
// message listing every bad entry.
Result<std::vector<std::string>, std::string> convert_allowed_http_hosts(
    const std::vector<std::string>& hosts);

}  // namespace gyre::app
