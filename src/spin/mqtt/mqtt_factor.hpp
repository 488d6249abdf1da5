// Spin's outbound MQTT capability (crates/factor-outbound-mqtt): a guest opens a
// connection to `mqtt://host[:port]?client_id=ID` within its `allowed_outbound_hosts` and
// publishes messages with a QoS. Served as `fermyon:spin/mqtt@2.0.0`, the only version
// Spin 3.6 serves (`spin:mqtt/mqtt@3.0.0` has async functions, which Gyre cannot call yet).
//
// An address the component may not reach is logged as Spin logs it and answered with
// `connection-failed("address ... is not permitted")`; nothing traps. Connections are
// pooled per app.
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::mqtt {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::mqtt
