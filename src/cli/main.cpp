// The `gyre` command line. It mirrors `spin`: each command Spin has gets the same name
// here once it is implemented, so `alias spin=gyre` keeps working as commands arrive.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"

namespace {

constexpr const char* kVersionText = "gyre " GYRE_VERSION " (engine: wasmtime 48.0.8)";

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gyre runs Spin applications: WebAssembly components described by a spin.toml."};
  app.set_version_flag("-V,--version", kVersionText);
  app.require_subcommand(0, 1);
  app.footer("`gyre <command> --help` describes each command.");
  gyre::cli::add_build_command(app);
  gyre::cli::add_up_command(app);
  gyre::cli::add_inspect_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
  }
  return 0;
}
