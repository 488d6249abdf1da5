// The URL and host parser of Rust's `url` crate (the WHATWG URL standard), as far as
// Spin's outbound checks need it: where a URL goes (scheme, host, port, whether its path
// is the root), with hosts canonicalised as the crate serialises them, IDNA included; and
// Rust's own IP address parsers, for allow-list CIDR ranges. Used by the outbound host
// policy (app/outbound_hosts.cpp); not for use elsewhere.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace gyre::app::url_parsing {

// ---- IP addresses ----

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 in the first four
};

// Rust's Ipv4Addr::from_str: four decimal octets, no leading zeros.
std::optional<IpAddress> parse_strict_ipv4(std::string_view text);
// The IPv6 parser of the URL standard (which Rust's own parser agrees with on every
// address either accepts): hex pieces, one "::", an optional dotted IPv4 tail.
std::optional<IpAddress> parse_ipv6(std::string_view text);
// Dotted decimal, or IPv6 in brackets as RFC 5952 writes it ("[::1]").
std::string serialize_ip(const IpAddress& a);

// ---- Hosts ----

// Why the `url` crate rejects a URL or host.
enum class UrlError {
  kEmptyHost,
  kIdna,
  kInvalidPort,
  kInvalidIpv4,
  kInvalidIpv6,
  kInvalidDomainCharacter,
  kRelativeWithoutBase,
};

// The `url` crate's words for an error.
std::string url_error_text(UrlError e);

struct Host {
  enum class Kind { kDomain, kIpv4, kIpv6 };
  Kind kind = Kind::kDomain;
  std::string domain;
  IpAddress ip;

  std::string serialize() const { return kind == Kind::kDomain ? domain : serialize_ip(ip); }
};

// Host::parse: the host of a special URL (http, https, ...).
Result<Host, UrlError> parse_host(std::string_view input);

// ---- URLs ----

struct ParsedUrl {
  std::string scheme;
  std::optional<Host> host;  // absent: the URL has none
  std::optional<uint16_t> port;
  bool path_is_root = true;  // special URLs: the path is "/" once dot segments are gone
};

// The parts of a URL's parse that decide where it goes, by the URL standard's rules.
Result<ParsedUrl, UrlError> parse_url(std::string_view raw);

// urlencoding::encode: every byte but ASCII letters, digits and -_.~ as %XX.
std::string url_encode(std::string_view text);

}  // namespace gyre::app::url_parsing
