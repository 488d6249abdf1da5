#include "support/gyre_up.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <regex>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace gyre::testing {

GyreUp::GyreUp(const std::filesystem::path& app, std::vector<std::string> args,
               std::vector<std::pair<std::string, std::string>> env,
               std::optional<unsigned> fd_limit) {
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
    if (fd_limit) {
      const rlimit limit{*fd_limit, *fd_limit};
      setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::vector<char*> raw;
    for (auto& a : argv)
      raw.push_back(a.data());
    raw.push_back(nullptr);
    execv(GYRE_BINARY, raw.data());
    _exit(127);
  }
  close(out[1]);
  stdout_ = fdopen(out[0], "r");
  reader_ = std::thread([this] { read_output(); });
  const std::regex serving(R"(Serving https?://127\.0\.0\.1:(\d+))");
  std::unique_lock lock(mutex_);
  std::smatch m;
  more_.wait(lock, [&] { return ended_ || std::regex_search(output_, m, serving); });
  if (std::regex_search(output_, m, serving)) port_ = static_cast<uint16_t>(std::stoi(m[1]));
}

void GyreUp::read_output() {
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fileno(stdout_), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) n = 0;
    std::lock_guard lock(mutex_);
    output_.append(buffer, static_cast<size_t>(n));
    if (n == 0) ended_ = true;
    more_.notify_all();
    if (n == 0) return;
  }
}

GyreUp::~GyreUp() {
  if (pid_ > 0 && !stopped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (reader_.joinable()) reader_.join();
  if (stdout_) fclose(stdout_);
}

std::string GyreUp::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

bool GyreUp::wait_for_output(const std::string& text, std::chrono::seconds limit) const {
  std::unique_lock lock(mutex_);
  more_.wait_for(lock, limit, [&] { return ended_ || output_.find(text) != std::string::npos; });
  return output_.find(text) != std::string::npos;
}

void GyreUp::signal(int number) const {
  kill(pid_, number);
}

std::optional<int> GyreUp::wait_exit(std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopped_ = true;
  if (reader_.joinable()) reader_.join();
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int GyreUp::stop() {
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  stopped_ = true;
  if (reader_.joinable()) reader_.join();
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
