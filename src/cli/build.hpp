// `gyre build`: runs the `[component.<id>.build]` commands of an app, as `spin build` does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace gyre::cli {

// Builds the named components (all when none are named) in manifest order, each command
// through `sh -c` in the component's workdir, its output going straight to the terminal.
// Stops at the first failure, naming the component. Returns the process exit status.
int build_app(const std::filesystem::path& manifest, const std::vector<std::string>& component_ids);

// spin.toml itself, or the spin.toml inside a folder.
std::filesystem::path manifest_path(const std::string& from);

}  // namespace gyre::cli
