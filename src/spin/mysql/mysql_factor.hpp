// Spin's outbound MySQL capability: fermyon:spin/mysql@2.0.0 and the unversioned Spin 1
// interface, within each component's allowed_outbound_hosts, over connections pooled per app.
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::mysql {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::mysql
