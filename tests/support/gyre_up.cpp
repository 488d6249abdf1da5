#include "support/gyre_up.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace gyre::testing {

GyreUp::GyreUp(const std::filesystem::path& app, std::vector<std::string> args,
               std::vector<std::pair<std::string, std::string>> env) {
  std::vector<std::string> argv = {GYRE_BINARY,  "up",       "-f",
                                   app.string(), "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), args.begin(), args.end());
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    dup2(out[1], STDERR_FILENO);
    close(out[0]);
    for (const auto& [name, value] : env)
      setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    execv(GYRE_BINARY, raw.data());
    _exit(127);
  }
  close(out[1]);
  stdout_ = fdopen(out[0], "r");
  char line[4096];
  const std::regex serving(R"(Serving https?://127\.0\.0\.1:(\d+))");
  while (fgets(line, sizeof line, stdout_) != nullptr) {
    output_ += line;
    std::smatch m;
    const std::string text = line;
    if (std::regex_search(text, m, serving)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
      break;
    }
  }
}

GyreUp::~GyreUp() {
  if (pid_ > 0 && !stopped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_) fclose(stdout_);
}

int GyreUp::stop() {
  kill(pid_, SIGTERM);
  char line[4096];
  while (fgets(line, sizeof line, stdout_) != nullptr)
    output_ += line;
  int status = 0;
  waitpid(pid_, &status, 0);
  stopped_ = true;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string gyre_binary() {
  return GYRE_BINARY;
}

std::filesystem::path make_app(const std::string& name, const std::string& manifest) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("gyre-up-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "spin.toml") << manifest;
  return dir;
}

std::filesystem::path make_fixture_app(const std::string& name, const std::string& app,
                                       const std::string& component, const std::string& fixture,
                                       const std::string& settings) {
  return make_app(name, R"(spin_manifest_version = 2

[application]
name = ")" + app + R"("
version = "1.0.0"

[[trigger.http]]
route = "/..."
component = ")" + component +
                            R"("

[component.)" + component + R"(]
source = ")" + fixture_path(fixture) +
                            "\"\n" + settings);
}

std::pair<int, std::string> get_path(const GyreUp& gyre, const std::string& target) {
  auto r = http_request(gyre.port(), "GET", target);
  return {r.status, r.body};
}

std::pair<int, std::string> get_query(const GyreUp& gyre, const std::string& query) {
  return get_path(gyre, "/?" + query);
}

}  // namespace gyre::testing
