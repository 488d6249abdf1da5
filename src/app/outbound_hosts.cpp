// The `allowed_outbound_hosts` policy (app/outbound_hosts.hpp): allow-list entries parsed,
// expanded and matched as Spin does, over the URL parser of app/url_parser.hpp.
#include "app/outbound_hosts.hpp"

#include <algorithm>
#include <utility>

#include "app/identifiers.hpp"
#include "app/rust_strings.hpp"
#include "app/url_parser.hpp"
#include "app/variables.hpp"

namespace gyre::app {

using namespace rust_strings;  // rust_trim, parse_unsigned, debug_list
using namespace url_parsing;   // hosts and URLs as Spin's `url` crate parses them

namespace {

// ---- allowed_outbound_hosts entries -------------------------------------------------------

std::optional<uint16_t> well_known_port(std::string_view scheme) {
  if (scheme == "postgres") return 5432;
  if (scheme == "mysql") return 3306;
  if (scheme == "redis") return 6379;
  if (scheme == "mqtt") return 1883;
  if (scheme == "http") return 80;
  if (scheme == "https") return 443;
  return std::nullopt;
}

constexpr std::string_view kLearnMore =
    "Learn more: "
    "https://spinframework.dev/v3/http-outbound#granting-http-permissions-to-components";

Result<AllowedHost::Port, std::string> parse_port_pattern(std::string_view port,
                                                          std::string_view scheme) {
  if (port.empty()) {
    auto known = well_known_port(scheme);
    if (!known) {
      return "no port was provided and the scheme " + debug_quote(scheme) +
             " does not have a known default port number";
    }
    return AllowedHost::Port{false, *known, *known + 1u};
  }
  if (port == "*") return AllowedHost::Port{true, 0, 0};
  if (port.starts_with('{')) return std::string("port lists are not yet supported");
  if (size_t dots = port.find(".."); dots != port.npos) {
    auto start = parse_unsigned(port.substr(0, dots), 0xFFFF);
    if (!start) return "port range " + debug_quote(port) + " contains non-number: " + start.error();
    auto end = parse_unsigned(port.substr(dots + 2), 0xFFFF);
    if (!end) return "port range " + debug_quote(port) + " contains non-number: " + end.error();
    return AllowedHost::Port{false, *start, *end};
  }
  auto number = parse_unsigned(port, 0xFFFF);
  if (!number) return "port " + debug_quote(port) + " is not a number: " + number.error();
  return AllowedHost::Port{false, *number, *number + 1};
}

Result<std::optional<std::string>, std::string> parse_scheme_pattern(std::string_view scheme) {
  if (scheme == "*") return std::optional<std::string>();
  if (scheme.starts_with('{')) return std::string("scheme lists are not supported");
  // Rust's char::is_alphabetic: ASCII letters, and (approximately) any non-ASCII character.
  for (char c : scheme) {
    if (static_cast<unsigned char>(c) < 0x80 && !is_ascii_alpha(static_cast<unsigned char>(c)))
      return std::string("only alphabetic characters are allowed");
  }
  return std::optional<std::string>(std::string(scheme));
}

// ip_network's from_str_truncate: "address/prefix", host bits dropped.
std::optional<AllowedHost::Host> parse_network(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == text.npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  std::string_view address = text.substr(0, slash);
  auto ip = parse_strict_ipv4(address);
  if (!ip) ip = address.find(':') != address.npos ? parse_ipv6(address) : std::nullopt;
  auto prefix = parse_unsigned(text.substr(slash + 1), 255);
  if (!ip || !prefix || *prefix > (ip->v6 ? 128u : 32u)) return std::nullopt;
  AllowedHost::Host host{AllowedHost::Host::Kind::kNetwork, "", ip->v6, ip->bytes,
                         static_cast<uint8_t>(*prefix)};
  for (size_t bit = *prefix; bit < 128; ++bit)
    host.address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  host.text = serialize_ip({host.ipv6, host.address}) + "/" + std::to_string(*prefix);
  return host;
}

Result<AllowedHost::Host, std::string> parse_host_pattern(std::string_view host) {
  using Kind = AllowedHost::Host::Kind;
  host = rust_trim(host);
  if (host == "*") return AllowedHost::Host{Kind::kAny};
  if (host == "self" || host == "self.alt") return AllowedHost::Host{Kind::kSelf};
  if (host.starts_with('{')) {
    if (!host.ends_with('}')) return std::string("Condition failed: `host.ends_with('}')`");
    return std::string("host lists are not yet supported");
  }
  if (auto network = parse_network(host)) return *network;
  while (host.ends_with('/'))
    host.remove_suffix(1);
  if (host.find('/') != host.npos) return std::string("must not include a path");
  if (host.starts_with("*.")) {
    std::string_view domain = host.substr(2);
    if (domain.find('*') != domain.npos)
      return std::string("wildcards are allowed only as prefixes");
    return AllowedHost::Host{Kind::kSubdomains, "." + std::string(domain)};
  }
  if (host.find('*') != host.npos) return std::string("wildcards are allowed only as subdomains");
  auto parsed = parse_host(host);
  if (!parsed) return url_error_text(parsed.error());
  if (parsed->kind == Host::Kind::kDomain) return AllowedHost::Host{Kind::kName, parsed->domain};
  return AllowedHost::Host{Kind::kAddress, parsed->serialize(), parsed->ip.v6, parsed->ip.bytes};
}

// Spin's AllowedHostConfig::parse: the port is what follows the last ':', and is parsed
// first, then the scheme, then the host, each failure naming the part.
Result<AllowedHost, std::string> parse_entry(std::string_view original) {
  std::string_view url = rust_trim(original);
  size_t separator = url.find("://");
  if (separator == url.npos) {
    if (url == "*" || url == ":" || url.empty() || url == "?") {
      return debug_quote(url) +
             " is not an allowed outbound host format.\nHosts must be in the form "
             "<scheme>://<host>[:<port>], with '*' wildcards allowed for each.\nIf you intended to "
             "allow all outbound networking, you can use '*://*:*' - this will obviate all network "
             "sandboxing.\n" +
             std::string(kLearnMore);
    }
    return debug_quote(url) + " does not contain a scheme (e.g., 'http://' or '*://')\n" +
           std::string(kLearnMore);
  }
  std::string_view scheme = url.substr(0, separator), rest = url.substr(separator + 3);
  size_t colon = rest.rfind(':');
  std::string_view host = rest.substr(0, colon);
  std::string_view port = colon == rest.npos ? std::string_view() : rest.substr(colon + 1);
  if (size_t slash = port.find('/'); slash != port.npos) {
    if (slash + 1 < port.size()) return debug_quote(url) + " has a path but is not allowed to";
    port = port.substr(0, slash);
  }
  AllowedHost entry;
  entry.original = std::string(original);
  auto port_pattern = parse_port_pattern(port, scheme);
  if (!port_pattern)
    return "Invalid allowed host port " + debug_quote(port) + ": " + port_pattern.error();
  entry.port = *port_pattern;
  auto scheme_pattern = parse_scheme_pattern(scheme);
  if (!scheme_pattern) {
    return "Invalid allowed host scheme " + debug_quote(scheme) + ": " + scheme_pattern.error();
  }
  entry.scheme = *scheme_pattern;
  auto host_pattern = parse_host_pattern(host);
  if (!host_pattern)
    return "Invalid allowed host " + debug_quote(host) + ": " + host_pattern.error();
  entry.host = std::move(*host_pattern);
  return entry;
}

bool is_for_service_chaining(const AllowedHost& entry) {
  using Kind = AllowedHost::Host::Kind;
  const std::string suffix = "." + std::string(kServiceChainingDomain);
  return (entry.host.kind == Kind::kName && entry.host.text.ends_with(suffix)) ||
         (entry.host.kind == Kind::kSubdomains && entry.host.text == suffix);
}

bool host_allows(const AllowedHost::Host& pattern, std::string_view url_host) {
  using Kind = AllowedHost::Host::Kind;
  auto host = parse_host(url_host);
  if (!host) return false;
  bool is_ip = host->kind != Host::Kind::kDomain;
  auto same_family = [&] { return is_ip && pattern.ipv6 == host->ip.v6; };
  switch (pattern.kind) {
    case Kind::kAny:
      return true;
    case Kind::kSubdomains:
      return !is_ip && host->domain.ends_with(pattern.text);
    case Kind::kSelf:
      return false;  // relative requests only, see allows_self
    case Kind::kName:
      return !is_ip && host->domain == pattern.text;
    case Kind::kAddress:
      return same_family() && host->ip.bytes == pattern.address;
    case Kind::kNetwork:
      if (!same_family()) return false;
      for (size_t bit = 0; bit < pattern.prefix_length; ++bit) {
        uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
        if ((host->ip.bytes[bit / 8] & mask) != (pattern.address[bit / 8] & mask)) return false;
      }
      return true;
  }
  return false;
}

bool entry_allows(const AllowedHost& entry, const OutboundUrl& url) {
  if (entry.scheme && *entry.scheme != url.scheme) return false;
  if (!host_allows(entry.host, url.host)) return false;
  if (entry.port.any) return true;
  std::optional<uint16_t> port = url.port ? url.port : well_known_port(url.scheme);
  return port && *port >= entry.port.first && *port < entry.port.end;
}

// A template as Spin prints it: "https://{{ host }}".
std::string display_template(const Template& parts) {
  std::string out;
  for (const TemplatePart& part : parts)
    out += part.kind == TemplatePart::Kind::kLiteral ? part.text : "{{ " + part.text + " }}";
  return out;
}

bool is_literal(const Template& parts) {
  return std::all_of(parts.begin(), parts.end(),
                     [](const TemplatePart& p) { return p.kind == TemplatePart::Kind::kLiteral; });
}

// The template's value when every variable it names has a value in `lookup`.
template <class Lookup>
std::optional<std::string> resolve(const Template& parts, Lookup lookup, std::string* missing) {
  std::string out;
  for (const TemplatePart& part : parts) {
    if (part.kind == TemplatePart::Kind::kLiteral) {
      out += part.text;
    } else if (std::optional<std::string> value = lookup(part.text)) {
      out += *value;
    } else {
      if (missing) *missing = part.text;
      return std::nullopt;
    }
  }
  return out;
}

// What Spin checks when it loads the app: template syntax, literal entries, and templates
// whose variables all have defaults, with those defaults. Returns the parsed templates.
Result<std::vector<Template>, OutboundHostsError> check_at_load(
    const std::vector<std::string>& hosts, const OrderedMap<Variable>& variables) {
  const std::string malformed = "`allowed_outbound_hosts` is malformed";
  if (hosts.size() == 1 && hosts[0] == "insecure:allow-all") {
    return OutboundHostsError{malformed, "",
                              "'insecure:allow-all' is not allowed - use '*://*:*' instead if you "
                              "really want to allow all outbound traffic'"};
  }
  std::vector<Template> templates;
  for (const std::string& host : hosts) {
    auto parts = parse_template(host);
    if (!parts) {
      return OutboundHostsError{malformed, host,
                                "invalid variable template: " + parts.error().message};
    }
    if (is_literal(*parts)) {
      if (auto entry = parse_entry(host); !entry)
        return OutboundHostsError{malformed, host, entry.error()};
    }
    templates.push_back(std::move(*parts));
  }
  auto default_of = [&](const std::string& name) -> std::optional<std::string> {
    const Variable* variable = variables.find(name);
    return variable ? variable->default_value : std::nullopt;
  };
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (is_literal(templates[i])) continue;
    auto value = resolve(templates[i], default_of, nullptr);
    if (!value) continue;
    if (auto entry = parse_entry(*value); !entry) {
      return OutboundHostsError{malformed, hosts[i],
                                "using default variable value(s) with template " +
                                    debug_quote(display_template(templates[i])) +
                                    " results in invalid config " + debug_quote(*value) + ": " +
                                    entry.error()};
    }
  }
  return templates;
}

// What Spin does when the component first makes a request: expand the templates with the
// variables' final values, parse, and expand `*.spin.internal` into one entry per component.
Result<std::vector<AllowedHost>, OutboundHostsError> resolve_entries(
    const std::vector<std::string>& hosts, const std::vector<Template>& templates,
    const OrderedMap<std::string>& app_variables, const std::vector<std::string>& component_ids) {
  auto value_of = [&](const std::string& name) -> std::optional<std::string> {
    const std::string* value = app_variables.find(name);
    return value ? std::optional(*value) : std::nullopt;
  };
  const std::string at_run_time = "Error parsing allowed outbound hosts";
  const std::string chaining_suffix = "." + std::string(kServiceChainingDomain);
  std::vector<AllowedHost> entries;
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string missing;
    auto value = resolve(templates[i], value_of, &missing);
    if (!value)
      return OutboundHostsError{at_run_time, hosts[i], "invalid variable name: " + missing, false};
    auto entry = parse_entry(*value);
    if (!entry) return OutboundHostsError{at_run_time, hosts[i], entry.error(), false};
    if (entry->host.kind != AllowedHost::Host::Kind::kSubdomains ||
        entry->host.text != chaining_suffix) {
      entries.push_back(std::move(*entry));
      continue;
    }
    for (const std::string& id : component_ids) {
      AllowedHost expanded = *entry;
      expanded.host = {AllowedHost::Host::Kind::kName, id + chaining_suffix};
      entries.push_back(std::move(expanded));
    }
  }
  return entries;
}

// One allowed_http_hosts entry as a host and optional port.
Result<std::pair<std::string, std::optional<uint16_t>>, std::string> parse_http_host(
    const std::string& text) {
  // A string without "//" is a host[:port]: parsed as the authority of an http URL.
  bool schemed = text.find("//") != text.npos;
  auto url = parse_url(schemed ? text : "http://" + text);
  if (!url && schemed) return text + " isn't a valid HTTP host URL: " + url_error_text(url.error());
  if (!url || (url->scheme != "http" && url->scheme != "https"))
    return text + " isn't a valid host or host:port string";
  if (!url->host) return text + " doesn't contain a host name";
  if (!url->path_is_root) return text + " contains a path, should be host and optional port only";
  return std::pair{url->host->serialize(), url->port};
}

}  // namespace

std::string OutboundUrl::authority() const {
  return port ? host + ":" + std::to_string(*port) : host;
}

Result<OutboundUrl, std::string> parse_outbound_url(std::string_view url_text,
                                                    std::string_view default_scheme) {
  std::string url(url_text);
  // As Spin does, percent-encode the user info, which may hold a password with '#' or '/'.
  // (Spin panics on an '@' before "://"; such a URL is left as it is.)
  size_t at = url.find('@');
  size_t scheme_end = url.find("://");
  scheme_end = scheme_end == url.npos ? 0 : scheme_end + 3;
  if (at != url.npos && at >= scheme_end && at < url.find('/', scheme_end)) {
    url = url.substr(0, scheme_end) + url_encode(url.substr(scheme_end, at - scheme_end)) +
          url.substr(at);
  }
  auto parsed = parse_url(url);
  if (!parsed || !parsed->host) {
    auto second = parse_url(std::string(default_scheme) + "://" + url);
    if (!parsed) {
      if (!second) return url_error_text(parsed.error());
    } else if (!second) {
      return "could not convert into a url: " + url_error_text(second.error());
    }
    parsed = std::move(second);
  }
  if (!parsed->host) return debug_quote(url) + " does not have a host component";
  return OutboundUrl{parsed->scheme, parsed->host->serialize(), parsed->port};
}

std::string OutboundHostsError::describe() const {
  std::string out = context;
  auto add = [&](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  if (!entry.empty() && message.find(debug_quote(entry)) == std::string::npos)
    add("entry " + debug_quote(entry));
  add(message);
  return out;
}

Result<AllowedHosts, OutboundHostsError> AllowedHosts::parse(
    const Manifest& manifest, std::string_view component_id,
    const OrderedMap<std::string>& app_variables) {
  const Component* component = manifest.components.find(component_id);
  if (!component) return OutboundHostsError{"", "", "no component " + debug_quote(component_id)};

  AllowedHosts result;
  std::vector<std::string> hosts = component->allowed_outbound_hosts;
  auto converted = convert_allowed_http_hosts(component->allowed_http_hosts);
  if (!converted)
    return OutboundHostsError{"`allowed_http_hosts` is malformed", "", converted.error()};
  if (!converted->empty()) {
    result.deprecation_warning_ =
        "Use of the deprecated field `allowed_http_hosts` - to fix, replace `allowed_http_hosts` "
        "with `allowed_outbound_hosts = " +
        debug_list(*converted) + "`";
  }
  hosts.insert(hosts.end(), converted->begin(), converted->end());
  for (const std::string& host : hosts) {
    auto entry = parse_entry(host);
    result.requires_service_chaining_ |= entry.ok() && is_for_service_chaining(*entry);
  }

  auto templates = check_at_load(hosts, manifest.variables);
  if (!templates) return std::move(templates).error();
  std::vector<std::string> component_ids;
  for (const auto& entry : manifest.components)
    component_ids.push_back(entry.first);
  auto entries = resolve_entries(hosts, *templates, app_variables, component_ids);
  if (!entries) return std::move(entries).error();
  result.entries_ = std::move(entries).value();
  return result;
}

bool AllowedHosts::allows(const OutboundUrl& url) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const AllowedHost& entry) { return entry_allows(entry, url); });
}

bool AllowedHosts::allows_self() const {
  using Kind = AllowedHost::Host::Kind;
  return std::any_of(entries_.begin(), entries_.end(), [](const AllowedHost& entry) {
    bool scheme = !entry.scheme || *entry.scheme == "http" || *entry.scheme == "https";
    return scheme && (entry.host.kind == Kind::kAny || entry.host.kind == Kind::kSelf);
  });
}

bool AllowedHosts::allows_service_chaining(std::string_view component_id) const {
  return allows(OutboundUrl{
      "http", std::string(component_id) + "." + std::string(kServiceChainingDomain), std::nullopt});
}

std::optional<std::string> service_chaining_target(std::string_view host) {
  host = host.substr(0, host.rfind(':'));
  size_t dot = host.find('.');
  if (dot == host.npos || host.substr(dot + 1) != kServiceChainingDomain) return std::nullopt;
  return std::string(host.substr(0, dot));
}

std::string denied_message(std::string_view scheme, std::string_view authority) {
  std::string pattern = std::string(scheme) + "://" + std::string(authority);
  std::string first =
      scheme.starts_with("http") && authority == "self"
          ? "A component tried to make an HTTP request to its own app but it does not have "
            "permission."
          : "A component tried to make an outbound network connection to disallowed destination '" +
                pattern + "'.";
  return "Warning: " + first + "\nTo allow this request, add 'allowed_outbound_hosts = [\"" +
         pattern + "\"]' to the manifest component section.\n";
}

std::string denied_message(const OutboundUrl& url) {
  return denied_message(url.scheme, url.authority());
}

std::string denied_self_message() {
  return denied_message("http", "self");
}

Result<std::vector<std::string>, std::string> convert_allowed_http_hosts(
    const std::vector<std::string>& hosts) {
  if (std::find(hosts.begin(), hosts.end(), "insecure:allow-all") != hosts.end())
    return std::vector<std::string>{"http://*:*", "https://*:*", "http://self"};
  std::vector<std::string> out, errors;
  for (const std::string& text : hosts) {
    auto host = parse_http_host(text);
    if (!host) {
      errors.push_back(host.error());
    } else if (host->first == "self") {
      out.push_back("http://self");
    } else {
      std::string port = host->second ? ":" + std::to_string(*host->second) : "";
      out.push_back("http://" + host->first + port);
      out.push_back("https://" + host->first + port);
    }
  }
  if (errors.empty()) return out;
  std::string message = "One or more allowed_http_hosts entries was invalid:";
  for (const std::string& error : errors)
    message += "\n" + error;
  return message;
}

}  // namespace gyre::app
