// Every Spin host capability Gyre serves, in the order they are set up.
#pragma once

#include <memory>
#include <vector>

#include "spin/factor.hpp"

namespace gyre::spin {

std::vector<std::unique_ptr<Factor>> make_factors();

}  // namespace gyre::spin
