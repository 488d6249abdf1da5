// Spin's permission check for the capabilities that open connections of their own (Redis,
// MQTT, PostgreSQL, MySQL): an address, read as a URL of the capability's scheme, must be
// in the component's allowed_outbound_hosts. As Spin does, a refused URL is reported on
// the terminal with Spin's warning, and an address that is no URL is refused quietly.
#pragma once

#include <string>
#include <string_view>

#include "app/outbound_hosts.hpp"
#include "base/result.hpp"
#include "spin/factor.hpp"

namespace gyre::spin {

// Why an address was refused.
struct OutboundRefusal {
  bool invalid = false;  // no URL at all: `reason` says why; otherwise not allowed
  std::string reason;
};

// Success if the component may reach `address`; a bare "host:port" counts as
// `<default_scheme>://host:port`.
Result<void, OutboundRefusal> check_outbound(std::string_view address,
                                             std::string_view default_scheme,
                                             const app::AllowedHosts& allowed, const Log& log);

}  // namespace gyre::spin
