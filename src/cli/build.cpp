#include "cli/build.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "app/manifest.hpp"
#include "cli/commands.hpp"

namespace gyre::cli {
namespace {

// Runs `sh -c command` in `dir` with the terminal as its stdin, stdout and stderr; returns
// the wait status, or -1 when it could not start.
int run_shell(const std::string& command, const std::filesystem::path& dir) {
  std::cout << std::flush;
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    execl("/bin/sh", "sh", "-c", command.c_str(), nullptr);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

// How Spin (Rust's subprocess crate) prints an exit status in its failure message.
std::string describe_status(int status) {
  if (WIFEXITED(status)) return "Exited(" + std::to_string(WEXITSTATUS(status)) + ")";
  if (WIFSIGNALED(status)) return "Signaled(" + std::to_string(WTERMSIG(status)) + ")";
  return "Other(" + std::to_string(status) + ")";
}

int build_component(const std::string& id, const app::BuildConfig& build,
                    const std::filesystem::path& app_dir) {
  std::filesystem::path workdir = app_dir;
  if (build.workdir) {
    if (std::filesystem::path(*build.workdir).has_root_directory()) {
      std::cerr << "Error: The workdir specified in the application file must be relative.\n";
      return 1;
    }
    workdir /= *build.workdir;
  }
  const size_t count = build.commands.size();
  if (count > 1) std::cout << "Building component " << id << " (" << count << " commands)\n";
  for (size_t i = 0; i < count; ++i) {
    const std::string& command = build.commands[i];
    if (count > 1) {
      std::cout << "Running build step " << i + 1 << "/" << count << " for component " << id
                << " with '" << command << "'\n";
    } else {
      std::cout << "Building component " << id << " with `" << command << "`\n";
    }
    if (build.workdir) std::cout << "Working directory: \"" << workdir.string() << "\"\n";
    const int status = run_shell(command, workdir);
    if (status < 0) {
      std::cerr << "Error: Cannot spawn build process '" << command << "' for component " << id
                << "\n";
      return 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::cerr << "Error: Build command for component " << id << " failed with status "
                << describe_status(status) << "\n";
      return 1;
    }
  }
  return 0;
}

struct BuildArgs {
  std::string from = "spin.toml";
  std::vector<std::string> components;
};

}  // namespace

std::filesystem::path manifest_path(const std::string& from) {
  std::filesystem::path path(from);
  if (std::filesystem::is_directory(path)) path /= "spin.toml";
  return path;
}

int build_app(const std::filesystem::path& manifest_file, const std::vector<std::string>& ids) {
  auto manifest = app::load_manifest(manifest_file);
  if (!manifest) {
    std::cerr << "Error: " << manifest.error().describe() << "\n";
    return 1;
  }
  std::vector<std::string> unknown;
  for (const std::string& id : ids) {
    if (!manifest->components.find(id)) unknown.push_back(id);
  }
  if (!unknown.empty()) {
    std::cerr << "Error: Unknown component(s) ";
    for (size_t i = 0; i < unknown.size(); ++i)
      std::cerr << (i ? ", " : "") << unknown[i];
    std::cerr << "\n";
    return 1;
  }
  auto wanted = [&](const std::string& id) {
    return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
  };
  bool any = false;
  for (const auto& [id, component] : manifest->components) {
    if (wanted(id) && component.build) any = true;
  }
  if (!any) {
    std::cout << "None of the components have a build command.\n"
                 "For information on specifying a build command, see "
                 "https://spinframework.dev/build#setting-up-for-spin-build.\n";
    return 0;
  }
  const std::filesystem::path app_dir =
      manifest_file.has_parent_path() ? manifest_file.parent_path() : ".";
  for (const auto& [id, component] : manifest->components) {
    if (!wanted(id) || !component.build) continue;
    if (int status = build_component(id, *component.build, app_dir); status != 0) return status;
  }
  std::cout << "Finished building all Spin components\n";
  return 0;
}

void add_build_command(CLI::App& app) {
  auto args = std::make_shared<BuildArgs>();
  auto* command = app.add_subcommand(
      "build", "Build the application's components with their [component.<id>.build] commands");
  command
      ->add_option("-f,--from", args->from, "The application: a spin.toml, or a folder holding one")
      ->default_val("spin.toml");
  command->add_option("-c,--component-id", args->components,
                      "Build only this component (repeatable); default: all");
  command->callback([args] {
    if (int status = build_app(manifest_path(args->from), args->components); status != 0)
      throw CLI::RuntimeError(status);
  });
}

}  // namespace gyre::cli
