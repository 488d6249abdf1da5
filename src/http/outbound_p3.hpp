// WASIp3's outgoing HTTP (wasi:http/client@0.3.0's send), carried as 0.2's is.
#pragma once

#include "component/host_imports.hpp"
#include "http/outbound.hpp"

namespace gyre::http {

inline constexpr const char* kWasiHttpClient3 = "wasi:http/client@0.3.0";

// Adds wasi:http/client 0.3 (add_wasi_http_types_p3 adds the types it uses).
void add_wasi_http_client_p3(component::HostImports& imports, OutboundSend send);

}  // namespace gyre::http
