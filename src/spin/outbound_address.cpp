#include "spin/outbound_address.hpp"

namespace gyre::spin {

Result<void, OutboundRefusal> check_outbound(std::string_view address,
                                             std::string_view default_scheme,
                                             const app::AllowedHosts& allowed, const Log& log) {
  auto url = app::parse_outbound_url(address, default_scheme);
  if (!url) return OutboundRefusal{true, std::move(url).error()};
  if (allowed.allows(*url)) return {};
  if (log) log(app::denied_message(*url));
  return OutboundRefusal{false, "not allowed"};
}

}  // namespace gyre::spin
