// Spin's key_value capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::key_value {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::key_value
