// Spin's variables capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::variables {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::variables
