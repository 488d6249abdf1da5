// The WASI host as an ordinary C program sees it through wasi-libc and the preview1
// adapter: stdout and stderr reach the sinks, the environment is exactly what was granted,
// clocks move, random bytes are random, sleep sleeps, exit ends the call.
#include "wasi/wasi.hpp"

#include <gtest/gtest.h>

#include <mutex>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::wasi {
namespace {

using component::ComponentInstance;
using component::ComponentPre;
using component::Val;
using gyre::testing::fixture_path;
using gyre::testing::read_file;

struct Captured {
  std::mutex mutex;
  std::string out, err;
};

class Wasi : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = gyre::testing::test_engine();
    CliConfig cli;
    cli.environment = {{"GREETING", "hello from the host"}};
    cli.stdout_sink = [this](std::string_view s) {
      std::lock_guard lock(captured_.mutex);
      captured_.out += s;
    };
    cli.stderr_sink = [this](std::string_view s) {
      std::lock_guard lock(captured_.mutex);
      captured_.err += s;
    };
    add_wasi(imports_, std::move(cli));
    component::LinkOptions options;
    options.trap_on_missing_imports = true;  // the rest of wasi:filesystem is not used here
    auto pre = ComponentPre::create(*engine_, read_file(fixture_path("c-wasi")), imports_, options);
    ASSERT_TRUE(pre.ok()) << pre.error();
    pre_ = std::move(pre).value();
    store_ = std::make_unique<wasm::Store>(*engine_);
    instance_ = std::move(pre_->instantiate(*store_)).value();
  }

  Result<std::optional<Val>, wasm::Error> call(const char* name, std::vector<Val> args = {}) {
    return instance_->call(*instance_->function(name), args);
  }

  Captured captured_;
  component::HostImports imports_;
  std::unique_ptr<wasm::Engine> engine_;
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<wasm::Store> store_;
  std::unique_ptr<ComponentInstance> instance_;
};

TEST_F(Wasi, StdoutAndStderrReachTheirSinks) {
  auto result = call("print", {Val::string("to stdout"), Val::string("to stderr")});
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_EQ(captured_.out, "to stdout\n");
  EXPECT_EQ(captured_.err, "to stderr\n");
}

TEST_F(Wasi, TheEnvironmentIsExactlyWhatWasGranted) {
  auto granted = call("env", {Val::string("GREETING")});
  ASSERT_TRUE(granted.ok()) << granted.error().describe();
  ASSERT_EQ((*granted)->bits, 1u);
  EXPECT_EQ((*granted)->items[0].bytes, "hello from the host");
  auto other = call("env", {Val::string("PATH")});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->bits, 0u) << "the host process's environment leaked into the guest";
}

TEST_F(Wasi, ClocksAndSleep) {
  auto before = call("monotonic-ns");
  ASSERT_TRUE(before.ok()) << before.error().describe();
  ASSERT_TRUE(call("sleep-ms", {Val::u32(20)}).ok());
  auto after = call("monotonic-ns");
  ASSERT_TRUE(after.ok());
  // Sleeping cannot take less than asked, however busy the machine is.
  EXPECT_GE((*after)->bits - (*before)->bits, 20'000'000u);

  auto wall = call("wall-seconds");
  ASSERT_TRUE(wall.ok()) << wall.error().describe();
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  EXPECT_LE((*wall)->bits, static_cast<uint64_t>(now));
  EXPECT_GT((*wall)->bits, 1'700'000'000u);  // after 2023: the wall clock is real time
}

TEST_F(Wasi, RandomBytes) {
  auto a = call("random-bytes", {Val::u32(64)});
  auto b = call("random-bytes", {Val::u32(64)});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*a)->bytes.size(), 64u);
  EXPECT_NE((*a)->bytes, (*b)->bytes);
  EXPECT_NE((*a)->bytes, std::string(64, '\0'));
}

TEST_F(Wasi, ExitEndsTheCallAndSaysSo) {
  auto result = call("exit-with", {Val::u32(3)});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("wasi:cli/exit: error"), std::string::npos)
      << result.error().describe();
}

}  // namespace
}  // namespace gyre::wasi
