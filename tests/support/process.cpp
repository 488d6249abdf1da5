#include "support/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace gyre::testing {

CommandOutput run_command(const std::string& command) {
  CommandOutput out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    out.text.append(buffer.data(), n);
  out.status = pclose(pipe);
  return out;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

std::string fixture_path(const std::string& name) {
  return std::string(GYRE_FIXTURE_DIR) + "/" + name + ".wasm";
}

std::vector<uint8_t> assemble(const std::string& wat) {
  static int counter = 0;
  const auto base = std::filesystem::temp_directory_path() /
                    ("gyre-wat-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  const std::string in = base.string() + ".wat", out = base.string() + ".wasm";
  std::ofstream(in) << wat;
  CommandOutput result =
      run_command(std::string(GYRE_WASM_TOOLS) + " parse '" + in + "' -o '" + out + "'");
  EXPECT_EQ(result.status, 0) << result.text;
  std::vector<uint8_t> bytes = read_file(out);
  std::filesystem::remove(in);
  std::filesystem::remove(out);
  return bytes;
}

}  // namespace gyre::testing
