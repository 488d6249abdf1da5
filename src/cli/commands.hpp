// Each `gyre` command adds itself to the application here; main.cpp calls these in the
// order `gyre --help` lists them.
#pragma once

#include <CLI/CLI.hpp>

namespace gyre::cli {

// `gyre build`: run the components' build commands.
void add_build_command(CLI::App& app);

// `gyre inspect FILE`: a component's imports and exports, as WIT.
void add_inspect_command(CLI::App& app);

// `gyre up`: serve the application's HTTP triggers.
void add_up_command(CLI::App& app);

}  // namespace gyre::cli
