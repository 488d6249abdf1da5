// `gyre inspect` as a user runs it: the real binary on the fixture components, checked
// against what wasm-tools says of the same files, and its errors on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::run_command;

std::string gyre(const std::string& args) {
  return std::string(GYRE_BINARY) + " " + args;
}

// What a WIT text declares, without formatting or alias names: the world's import and
// export lines, and per interface its resources and function names.
std::set<std::string> declarations(const std::string& wit) {
  std::set<std::string> out;
  std::istringstream in(wit);
  std::string line, package, interface;
  const std::regex world_item(R"(^  (import|export) ([^:;]+(:[^;{ ]+)?)[;:])");
  const std::regex package_line(R"(^package ([^ ]+) \{)");
  const std::regex interface_line(R"(^  interface ([^ ]+) \{)");
  const std::regex member(R"(^\s+(resource [a-z0-9-]+|[%a-z0-9-]+: (static )?func|constructor))");
  bool in_world = false;
  std::smatch m;
  while (std::getline(in, line)) {
    if (line == "world root {") in_world = true;
    if (in_world && line == "}") in_world = false;
    if (in_world && std::regex_search(line, m, world_item)) out.insert("world " + m[0].str());
    if (std::regex_search(line, m, package_line)) package = m[1];
    if (std::regex_search(line, m, interface_line)) interface = m[1];
    if (!in_world && !interface.empty() && std::regex_search(line, m, member)) {
      out.insert(package + "/" + interface + " " + m[1].str());
    }
  }
  return out;
}

class Inspect : public testing::TestWithParam<const char*> {};

TEST_P(Inspect, DeclaresWhatWasmToolsSees) {
  const std::string path = fixture_path(GetParam());
  auto ours = run_command(gyre("inspect '" + path + "'"));
  ASSERT_EQ(ours.status, 0) << ours.text;
  auto theirs = run_command(std::string(GYRE_WASM_TOOLS) + " component wit '" + path + "'");
  ASSERT_EQ(theirs.status, 0) << theirs.text;
  const auto a = declarations(ours.text), b = declarations(theirs.text);
  EXPECT_GT(a.size(), 2u);
  EXPECT_EQ(a, b) << "gyre:\n" << ours.text << "\nwasm-tools:\n" << theirs.text;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Inspect, testing::Values("c-hello", "js-hello", "python-hello"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(Inspect, JavaScriptFixtureListsTheHandlerAndEveryWasiImport) {
  auto out = run_command(gyre("inspect '" + fixture_path("js-hello") + "'"));
  ASSERT_EQ(out.status, 0) << out.text;
  EXPECT_NE(out.text.find("  export wasi:http/incoming-handler@0.2.3;"), std::string::npos);
  for (const char* import : {"wasi:io/poll@0.2.12", "wasi:io/streams@0.2.12",
                             "wasi:http/types@0.2.3", "wasi:http/outgoing-handler@0.2.3",
                             "wasi:cli/environment@0.2.12", "wasi:clocks/wall-clock@0.2.12",
                             "wasi:filesystem/preopens@0.2.12", "wasi:random/random@0.2.12"}) {
    EXPECT_NE(out.text.find(std::string("  import ") + import + ";"), std::string::npos) << import;
  }
  // The comparison with wasm-tools above sees interface members, not only world lines.
  const auto declared = declarations(out.text);
  EXPECT_EQ(declared.count("wasi:io@0.2.12/streams blocking-read: func"), 1u);
  EXPECT_EQ(declared.count("wasi:io@0.2.12/poll resource pollable"), 1u);
  EXPECT_EQ(declared.count("wasi:http@0.2.3/types constructor"), 1u);
  // With the types: a resource with its methods.
  EXPECT_NE(out.text.find("    resource pollable {\n      ready: func() -> bool;"),
            std::string::npos);
}

TEST(Inspect, ErrorsNameTheFileAndTheProblem) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string core = (dir / "gyre-inspect-core.wasm").string();
  std::ofstream(core, std::ios::binary).write("\0asm\x01\0\0\0", 8);
  auto core_out = run_command(gyre("inspect '" + core + "'"));
  EXPECT_NE(core_out.status, 0);
  EXPECT_NE(core_out.text.find("is a core WebAssembly module, not a component"), std::string::npos)
      << core_out.text;

  const std::string bad = (dir / "gyre-inspect-bad.wasm").string();
  std::ofstream(bad, std::ios::binary).write("\0asm\x0d\0\x01\0\x07\x05\x01", 11);
  auto bad_out = run_command(gyre("inspect '" + bad + "'"));
  EXPECT_NE(bad_out.status, 0);
  EXPECT_NE(bad_out.text.find("at byte offset 0xa (10)"), std::string::npos) << bad_out.text;

  auto missing = run_command(gyre("inspect /nonexistent/file.wasm"));
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.text.find("cannot read /nonexistent/file.wasm"), std::string::npos)
      << missing.text;
  std::filesystem::remove(core);
  std::filesystem::remove(bad);
}

TEST(Cli, VersionAndHelpListTheCommands) {
  auto version = run_command(gyre("--version"));
  EXPECT_EQ(version.status, 0);
  EXPECT_NE(version.text.find("gyre 0.1.0"), std::string::npos) << version.text;
  auto help = run_command(gyre("--help"));
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.text.find("inspect"), std::string::npos) << help.text;
}

}  // namespace
