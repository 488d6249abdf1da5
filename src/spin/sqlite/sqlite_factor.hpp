// Spin's sqlite capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::sqlite {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::sqlite
