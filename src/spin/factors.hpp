// Every Spin host capability Gyre serves, in the order they are set up.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "spin/factor.hpp"

namespace gyre::spin {

// What the command line adds to the factors' configuration (`gyre up --key-value ...`).
struct CommandLineSettings {
  std::vector<std::pair<std::string, std::string>> key_values;  // seeds of the default store
  // `--sqlite`: statements ("..." or "@file.sql[:label]") run before serving, in order.
  std::vector<std::string> sqlite_statements;
};

std::vector<std::unique_ptr<Factor>> make_factors(const CommandLineSettings& settings = {});

}  // namespace gyre::spin
