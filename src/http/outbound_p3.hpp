// WASIp3's outgoing HTTP (wasi:http/client@0.3.0's send), carried as 0.2's is.
#pragma once

#include "component/host_imports.hpp"
#include "http/outbound.hpp"
#include "http/wasi_types_p3.hpp"

namespace gyre::http {

// Adds wasi:http/client 0.3 in every version served (wasi::kWasi3Versions;
// add_wasi_http_types_p3 adds the types it uses).
void add_wasi_http_client_p3(component::HostImports& imports, OutboundSend send);

}  // namespace gyre::http
