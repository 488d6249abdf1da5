// Test helpers for what the tests do outside the process: run a command, read a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gyre::testing {

struct CommandOutput {
  int status = -1;   // as from pclose: 0 is success
  std::string text;  // stdout and stderr together
};

CommandOutput run_command(const std::string& command);

std::vector<uint8_t> read_file(const std::string& path);

// A fixture component built by fixtures/build.sh, e.g. fixture_path("js-hello").
std::string fixture_path(const std::string& name);

// Assembles component (or module) text with wasm-tools; fails the test on error.
std::vector<uint8_t> assemble(const std::string& wat);

}  // namespace gyre::testing
