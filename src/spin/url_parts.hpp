// Pieces of the connection URLs that the Redis and MQTT capabilities read themselves (their
// grammars differ from the WHATWG URLs app/ parses): percent-decoding, and the host and
// port of the authority. Each reads the port under its own rules, so it is left as text.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace gyre::spin {

// Decodes %XX escapes; one that is not two hex digits stays as written. With
// `plus_is_space` (a query's form encoding), '+' is a space.
std::string percent_decode(std::string_view text, bool plus_is_space = false);

struct HostPort {
  std::string host;       // without the brackets of an IPv6 address; may be empty
  std::string_view port;  // empty when the authority names none
};

enum class AuthorityError {
  kUnclosedIpv6,   // "[" without "]"
  kJunkAfterIpv6,  // "]" followed by something other than ":port"
};

// Splits "host", "host:port", "[v6]" or "[v6]:port" (user info already removed).
Result<HostPort, AuthorityError> split_authority(std::string_view authority);

}  // namespace gyre::spin
