#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <vector>

#include "cli/commands.hpp"
#include "component/decode.hpp"
#include "component/types.hpp"
#include "component/wit.hpp"

namespace gyre::cli {
namespace {

int inspect(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "error: cannot read " << path << "\n";
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  if (component::sniff(bytes) == component::BinaryKind::kCoreModule) {
    std::cerr << "error: " << path << " is a core WebAssembly module, not a component\n";
    return 1;
  }
  auto decoded = component::decode(bytes);
  if (!decoded) {
    std::cerr << "error: " << path << ": malformed component " << decoded.error().describe()
              << "\n";
    return 1;
  }
  auto types = component::resolve_types(*decoded);
  if (!types) {
    std::cerr << "error: " << path << ": invalid component: " << types.error().message << "\n";
    return 1;
  }
  std::cout << component::print_wit(*types);
  return 0;
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto* command = app.add_subcommand("inspect", "Print a component's imports and exports as WIT");
  auto path = std::make_shared<std::string>();
  command->add_option("FILE", *path, "A component (.wasm)")->required();
  command->callback([path] {
    if (int status = inspect(*path); status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace gyre::cli
