// Spin's outbound PostgreSQL capability: fermyon:spin/postgres@2.0.0 and
// spin:postgres/postgres@3.0.0 and @4.0.0, within each component's allowed_outbound_hosts,
// over connections pooled per app.
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::postgres {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::postgres
