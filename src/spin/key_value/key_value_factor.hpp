// Spin's key-value capability: the stores of the runtime config's `[key_value_store.*]`
// sections and the `default` store (SQLite in the state directory), opened by the labels
// a component's `key_value_stores` grants, through every interface version Spin serves
// (bindings.hpp).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spin/factor.hpp"

namespace gyre::spin::key_value {

struct Options {
  // `gyre up --key-value KEY=VALUE`: written to the `default` store (whatever backs it)
  // once the app's stores are set up, before any request; later pairs win.
  std::vector<std::pair<std::string, std::string>> initial_key_values;
};

std::unique_ptr<Factor> make_factor(Options options = {});

}  // namespace gyre::spin::key_value
