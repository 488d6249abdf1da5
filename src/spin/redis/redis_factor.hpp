// Spin's redis capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::redis {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::redis
