// Spin's mysql capability (placeholder until its factor is written).
#pragma once

#include <memory>

#include "spin/factor.hpp"

namespace gyre::spin::mysql {

std::unique_ptr<Factor> make_factor();

}  // namespace gyre::spin::mysql
