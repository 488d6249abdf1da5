// Spin's postgres capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::postgres {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::postgres
