// WASI preview1's view of a component's mounted files, through a module that calls the
// imports itself (wasi-libc always resolves from the preopen; a module may also resolve
// from a directory it opened): `..` never leads above the directory a path is resolved
// from, even on the way back into it, and an absolute path is no way out either — EPERM,
// as Wasmtime's cap-std gives it.
#include "wasi/preview1.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>

#include "support/engine.hpp"
#include "wasm/engine.hpp"
#include "wasm/instance.hpp"
#include "wasm/linker.hpp"
#include "wasm/module.hpp"
#include "wasm/store.hpp"
#include "wasm/wat.hpp"

namespace gyre::wasi {
namespace {

namespace fs = std::filesystem;

// preview1's errno values.
constexpr int32_t kSuccess = 0, kNoent = 44, kNotdir = 54, kPerm = 63;
constexpr int32_t kPreopen = 3;
constexpr int32_t kOflagDirectory = 2;

// The path goes at 0, a result (an fd, or a filestat) at 1024, read bytes at 2048.
constexpr const char* kModule = R"(
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_filestat_get"
    (func $path_filestat_get (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "open") (param $dir i32) (param $len i32) (param $oflags i32) (result i32)
    (call $path_open (local.get $dir) (i32.const 1) (i32.const 0) (local.get $len)
                     (local.get $oflags) (i64.const 2) (i64.const 0) (i32.const 0)
                     (i32.const 1024)))
  (func (export "stat") (param $dir i32) (param $len i32) (result i32)
    (call $path_filestat_get (local.get $dir) (i32.const 1) (i32.const 0) (local.get $len)
                             (i32.const 1024)))
  (func (export "read") (param $fd i32) (result i32)
    (i32.store (i32.const 1040) (i32.const 2048))
    (i32.store (i32.const 1044) (i32.const 256))
    (call $fd_read (local.get $fd) (i32.const 1040) (i32.const 1) (i32.const 1032)))
)
)";

class Preview1MountedFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("gyre-preview1-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    const fs::path app = root_ / "app";
    write(app / "top.txt", "top");
    write(app / "static" / "a.txt", "alpha");
    write(app / "static" / "sub" / "b.txt", "beta");
    write(root_ / "outside.txt", "secret");

    Preview1Config config;
    config.files =
        make_preview1_files({{"/top.txt", app / "top.txt", app},
                             {"/static/a.txt", app / "static" / "a.txt", app},
                             {"/static/sub/b.txt", app / "static" / "sub" / "b.txt", app}});
    engine_ = gyre::testing::test_engine(4);
    linker_ = std::make_unique<wasm::Linker>(*engine_);
    ctx_ = std::make_unique<Preview1Ctx>(std::move(config));
    store_ = std::make_unique<wasm::Store>(*engine_, ctx_.get());
    ASSERT_TRUE(add_preview1(*linker_).ok());
    auto binary = wasm::wat_to_binary(kModule);
    ASSERT_TRUE(binary.ok()) << binary.error().describe();
    auto module = engine_->compile(*binary);
    ASSERT_TRUE(module.ok()) << module.error().describe();
    auto pre = linker_->prepare(*module);
    ASSERT_TRUE(pre.ok()) << pre.error().describe();
    auto instance = pre->instantiate(*store_);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    instance_.emplace(*instance);
  }
  void TearDown() override {
    instance_.reset();
    store_.reset();
    fs::remove_all(root_);
  }

  static void write(const fs::path& path, const std::string& contents) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
  }

  std::span<uint8_t> memory() {
    return instance_->memory(store_->context(), "memory")->data(store_->context());
  }
  int32_t call(const char* name, std::vector<wasm::Value> args) {
    auto result = instance_->func(store_->context(), name)->call(store_->context(), args);
    if (!result.ok()) {
      ADD_FAILURE() << name << " trapped: " << result.error().describe();
      return -1;
    }
    return std::get<int32_t>(result.value()[0]);
  }
  int32_t with_path(const char* name, int32_t dir, std::string_view path,
                    std::vector<wasm::Value> more = {}) {
    std::memcpy(memory().data(), path.data(), path.size());
    std::vector<wasm::Value> args = {dir, static_cast<int32_t>(path.size())};
    args.insert(args.end(), more.begin(), more.end());
    return call(name, std::move(args));
  }

  // path_open's errno for `path` from directory `dir`.
  int32_t open(int32_t dir, std::string_view path, int32_t oflags = 0) {
    return with_path("open", dir, path, {oflags});
  }
  // path_filestat_get's errno.
  int32_t stat(int32_t dir, std::string_view path) { return with_path("stat", dir, path); }
  // The descriptor the last successful open made.
  int32_t opened() {
    int32_t fd;
    std::memcpy(&fd, memory().data() + 1024, 4);
    return fd;
  }
  // What a read of `fd` returns, or the errno if it fails.
  std::string read(int32_t fd) {
    const int32_t error = call("read", {fd});
    if (error != kSuccess) return "errno " + std::to_string(error);
    uint32_t n;
    std::memcpy(&n, memory().data() + 1032, 4);
    return std::string(reinterpret_cast<const char*>(memory().data() + 2048), n);
  }
  // Opens `path` from `dir` and reads it.
  std::string open_and_read(int32_t dir, std::string_view path) {
    const int32_t error = open(dir, path);
    if (error != kSuccess) return "errno " + std::to_string(error);
    return read(opened());
  }

  fs::path root_;
  std::unique_ptr<wasm::Engine> engine_;
  std::unique_ptr<wasm::Linker> linker_;
  std::unique_ptr<Preview1Ctx> ctx_;
  std::unique_ptr<wasm::Store> store_;
  std::optional<wasm::Instance> instance_;
};

TEST_F(Preview1MountedFiles, DotDotAboveThePreopenIsEperm) {
  for (const char* path :
       {"..", "../", "./..", "../top.txt", "../outside.txt", "../app/top.txt", "static/../..",
        "static/sub/../../../outside.txt", "static/../../static/a.txt"}) {
    EXPECT_EQ(open(kPreopen, path), kPerm) << path;
    EXPECT_EQ(stat(kPreopen, path), kPerm) << path;
  }
  // Inside, `..` is just a path.
  EXPECT_EQ(open_and_read(kPreopen, "static/sub/../../top.txt"), "top");
  EXPECT_EQ(open_and_read(kPreopen, "static/sub/../a.txt"), "alpha");
  EXPECT_EQ(stat(kPreopen, "static/.."), kSuccess);
}

TEST_F(Preview1MountedFiles, DotDotAboveAnOpenedDirectoryIsEperm) {
  ASSERT_EQ(open(kPreopen, "static", kOflagDirectory), kSuccess);
  const int32_t dir = opened();
  // Out of the directory a path starts from is out, even where it would lead back in.
  for (const char* path :
       {"..", "../top.txt", "../static/a.txt", "sub/../..", "sub/../../top.txt", "./../static"}) {
    EXPECT_EQ(open(dir, path), kPerm) << path;
    EXPECT_EQ(stat(dir, path), kPerm) << path;
  }
  EXPECT_EQ(open_and_read(dir, "a.txt"), "alpha");
  EXPECT_EQ(open_and_read(dir, "sub/../a.txt"), "alpha");
  EXPECT_EQ(open_and_read(dir, "sub/./b.txt"), "beta");
}

TEST_F(Preview1MountedFiles, AbsolutePathsAreEpermAndOtherErrorsComeFirst) {
  EXPECT_EQ(open(kPreopen, "/top.txt"), kPerm);
  EXPECT_EQ(stat(kPreopen, "/"), kPerm);
  EXPECT_EQ(open(kPreopen, (root_ / "app" / "top.txt").string()), kPerm);
  // What is missing, or a file taken for a directory, fails before the `..` is reached.
  EXPECT_EQ(open(kPreopen, "nope/../.."), kNoent);
  EXPECT_EQ(open(kPreopen, "top.txt/../.."), kNotdir);
}

}  // namespace
}  // namespace gyre::wasi
