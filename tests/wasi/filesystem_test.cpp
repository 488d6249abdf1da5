// wasi:filesystem as a C program sees its mounted files through wasi-libc and the preview1
// adapter: one preopen `/` (none without files), files read at their destinations,
// directories listed, stat, a missing file's error, every write refused with Wasmtime's
// error code, and every way out of the mount refused: `..`, absolute paths, symbolic
// links leading outside, a file swapped for such a link while the app runs.
#include "wasi/filesystem.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/files.hpp"
#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasi/wasi.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::wasi {
namespace {

namespace fs = std::filesystem;
using component::ComponentInstance;
using component::ComponentPre;
using component::Val;
using gyre::testing::fixture_path;

// What a guest export returned: the ok string, or the error string.
struct Outcome {
  bool ok = false;
  std::string text;
  std::vector<std::string> list;
  bool is_directory = false;
  uint64_t size = 0;
};

class Filesystem : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("gyre-filesystem-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    app_ = base_ / "app";
    write(app_ / "data.txt", "0123456789");
    write(app_ / "static" / "index.html", "<h1>hello</h1>");
    write(app_ / "static" / "sub" / "deep.txt", "deep");
    write(base_ / "outside" / "secret.txt", "secret");
    fs::create_symlink(base_ / "outside" / "secret.txt", app_ / "link.txt");
    engine_ = gyre::testing::test_engine();
  }
  void TearDown() override {
    instance_.reset();
    store_.reset();
    fs::remove_all(base_);
  }

  static void write(const fs::path& path, const std::string& contents) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << contents;
  }

  // The mounts the tests share: the app's files as `spin up` would place them, confined
  // to the app directory, plus an empty directory.
  std::vector<MountedFile> app_mounts() const {
    return {{"/", {}, {}},
            {"/data.txt", app_ / "data.txt", app_},
            {"/static/index.html", app_ / "static" / "index.html", app_},
            {"/static/sub/deep.txt", app_ / "static" / "sub" / "deep.txt", app_},
            {"/link.txt", app_ / "link.txt", app_},
            {"/empty", {}, {}}};
  }

  void start(std::vector<MountedFile> files) {
    imports_ = std::make_unique<component::HostImports>();
    add_wasi(*imports_, CliConfig{}, std::make_shared<SystemClock>(), std::move(files));
    // Every import of the guest must be served: nothing traps for want of a function.
    auto pre = ComponentPre::create(*engine_, gyre::testing::read_file(fixture_path("c-files")),
                                    *imports_, component::LinkOptions{});
    ASSERT_TRUE(pre.ok()) << pre.error();
    pre_ = std::move(pre).value();
    store_ = std::make_unique<wasm::Store>(*engine_);
    instance_ = std::move(pre_->instantiate(*store_)).value();
  }

  Outcome call(const char* name, std::vector<Val> args) {
    auto result = instance_->call(*instance_->function(name), args);
    if (!result.ok()) {
      ADD_FAILURE() << name << " trapped: " << result.error().describe();
      return {};
    }
    const Val& v = **result;
    Outcome out;
    out.ok = v.bits == 0;
    const Val* payload = v.payload();
    if (payload == nullptr) return out;
    out.text = payload->bytes;
    for (const Val& item : payload->items)
      out.list.push_back(item.bytes);
    if (out.ok && payload->kind == component::ValueKind::kTuple) {
      out.is_directory = payload->items[0].bits != 0;
      out.size = payload->items[1].bits;
    }
    return out;
  }
  Outcome read(const std::string& path) { return call("read-file", {Val::string(path)}); }
  Outcome read_at_preopen(const std::string& path) {
    return call("read-at-preopen", {Val::string(path)});
  }
  Outcome list(const std::string& path) { return call("list-dir", {Val::string(path)}); }
  Outcome stat(const std::string& path) { return call("stat", {Val::string(path)}); }
  Outcome mutate(const std::string& op, const std::string& path) {
    return call("mutate", {Val::string(op), Val::string(path)});
  }
  std::vector<std::string> preopens() {
    auto result = instance_->call(*instance_->function("preopens"), {});
    EXPECT_TRUE(result.ok());
    std::vector<std::string> out;
    if (result.ok())
      for (const Val& item : (*result)->items)
        out.push_back(item.bytes);
    return out;
  }

  static constexpr const char* kNotPermitted = "Operation not permitted";
  static constexpr const char* kNoEntry = "No such file or directory";

  fs::path base_, app_;
  std::unique_ptr<wasm::Engine> engine_;
  std::unique_ptr<component::HostImports> imports_;
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<wasm::Store> store_;
  std::unique_ptr<ComponentInstance> instance_;
};

TEST_F(Filesystem, WithoutFilesThereIsNoPreopenAndNothingToRead) {
  start({});
  EXPECT_TRUE(preopens().empty());
  Outcome r = read("/data.txt");
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(list("/").list.empty());
}

TEST_F(Filesystem, TheFilesArePreopenedAtTheRoot) {
  start(app_mounts());
  EXPECT_EQ(preopens(), std::vector<std::string>{"/"});
}

TEST_F(Filesystem, FilesAreReadAtTheirDestinations) {
  start(app_mounts());
  Outcome r = read("/static/index.html");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "<h1>hello</h1>");
  r = read("static/sub/deep.txt");  // relative to the working directory, `/`
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "deep");
  r = call("read-range", {Val::string("/data.txt"), Val::u64(3), Val::u64(4)});
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "3456");
  // `..` that stays inside is just a path.
  r = read("/static/sub/../../data.txt");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, "0123456789");
}

TEST_F(Filesystem, ABigFileIsReadWhole) {
  std::string big(300 * 1024 + 7, 'x');
  for (size_t i = 0; i < big.size(); i += 1000)
    big[i] = static_cast<char>('a' + (i / 1000) % 26);
  write(app_ / "big.bin", big);
  start({{"/big.bin", app_ / "big.bin", app_}});
  Outcome r = read("/big.bin");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.text, big);
}

TEST_F(Filesystem, DirectoriesListTheirEntries) {
  start(app_mounts());
  Outcome r = list("/");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.list, (std::vector<std::string>{"data.txt", "empty", "link.txt", "static"}));
  r = list("/static");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_EQ(r.list, (std::vector<std::string>{"index.html", "sub"}));
  r = list("/empty");
  ASSERT_TRUE(r.ok) << r.text;
  EXPECT_TRUE(r.list.empty());
}

TEST_F(Filesystem, StatTellsDirectoriesFromFilesAndSizes) {
  start(app_mounts());
  Outcome s = stat("/static");
  ASSERT_TRUE(s.ok) << s.text;
  EXPECT_TRUE(s.is_directory);
  s = stat("/data.txt");
  ASSERT_TRUE(s.ok) << s.text;
  EXPECT_FALSE(s.is_directory);
  EXPECT_EQ(s.size, 10u);
}

TEST_F(Filesystem, MissingFilesAndWrongKinds) {
  start(app_mounts());
  EXPECT_EQ(read("/nope.txt").text, kNoEntry);
  EXPECT_EQ(read("/static/nope/deep.txt").text, kNoEntry);
  EXPECT_EQ(stat("/nope.txt").text, kNoEntry);
  EXPECT_EQ(list("/data.txt").text, "Not a directory");
  EXPECT_EQ(read("/data.txt/").text, "Not a directory");
  EXPECT_EQ(read("/data.txt/x").text, "Not a directory");
}

TEST_F(Filesystem, AFileGoneFromTheHostIsMissing) {
  start(app_mounts());
  fs::remove(app_ / "data.txt");
  EXPECT_EQ(read("/data.txt").text, kNoEntry);
}

TEST_F(Filesystem, DotDotCannotLeaveTheMount) {
  start(app_mounts());
  for (const char* path : {"/../outside/secret.txt", "/static/../../outside/secret.txt",
                           "../outside/secret.txt", "/static/sub/../../../outside/secret.txt"}) {
    Outcome r = read(path);
    EXPECT_FALSE(r.ok) << path << " read " << r.text;
    EXPECT_EQ(r.text, kNotPermitted) << path;
  }
  EXPECT_EQ(stat("/..").text, kNotPermitted);
  EXPECT_EQ(list("/..").text, kNotPermitted);
  // Below the preopen, the host sees the relative path as libc passes it.
  EXPECT_EQ(read_at_preopen("../outside/secret.txt").text, kNotPermitted);
  EXPECT_EQ(read_at_preopen("static/../..").text, kNotPermitted);
  // Out is out, even where the host path would lead back into the mounted folder.
  EXPECT_EQ(read_at_preopen("../app/data.txt").text, kNotPermitted);
  EXPECT_EQ(read_at_preopen("static/../../static/index.html").text, kNotPermitted);
  Outcome inside = read_at_preopen("static/../data.txt");
  ASSERT_TRUE(inside.ok) << inside.text;
  EXPECT_EQ(inside.text, "0123456789");
}

TEST_F(Filesystem, AbsolutePathsAreRefusedBelowThePreopen) {
  start(app_mounts());
  // libc makes "/data.txt" relative to the preopen; given to the host as is, a path
  // from the host's root is an escape.
  EXPECT_EQ(read_at_preopen("/etc/passwd").text, kNotPermitted);
  EXPECT_EQ(read_at_preopen("/data.txt").text, kNotPermitted);
  EXPECT_EQ(read_at_preopen((app_ / "data.txt").string()).text, kNotPermitted);
}

TEST_F(Filesystem, SymbolicLinksLeadingOutsideAreRefused) {
  start(app_mounts());
  EXPECT_EQ(read("/link.txt").text, kNotPermitted);
  EXPECT_EQ(stat("/link.txt").text, kNotPermitted);
  // A mounted file replaced by such a link after the app started is refused too.
  fs::remove(app_ / "data.txt");
  fs::create_symlink(base_ / "outside" / "secret.txt", app_ / "data.txt");
  EXPECT_EQ(read("/data.txt").text, kNotPermitted);
  // One leading elsewhere inside the mount is followed.
  fs::remove(app_ / "data.txt");
  fs::create_symlink(app_ / "static" / "sub" / "deep.txt", app_ / "data.txt");
  EXPECT_EQ(read("/data.txt").text, "deep");
}

TEST_F(Filesystem, NothingOutsideTheFilesIsVisible) {
  write(app_ / "not-mounted.txt", "hidden");
  start(app_mounts());
  EXPECT_EQ(read("/not-mounted.txt").text, kNoEntry);
  for (const std::string& name : list("/").list)
    EXPECT_NE(name, "not-mounted.txt");
}

TEST_F(Filesystem, WritesAreRefused) {
  start(app_mounts());
  EXPECT_EQ(call("write-file", {Val::string("/data.txt"), Val::string("changed")}).text,
            kNotPermitted);
  EXPECT_EQ(call("write-file", {Val::string("/new.txt"), Val::string("new")}).text, kNotPermitted);
  for (const char* op : {"mkdir", "rmdir", "unlink", "rename", "symlink", "link", "utimes",
                         "truncate", "open-write", "open-append", "open-create"}) {
    const std::string path = std::string(op) == "rmdir" ? "/empty" : "/data.txt";
    Outcome r = mutate(op, path);
    EXPECT_FALSE(r.ok) << op;
    EXPECT_EQ(r.text, kNotPermitted) << op;
  }
  EXPECT_EQ(mutate("mkdir", "/new-dir").text, kNotPermitted);
  // A descriptor opened for reading has no write stream.
  EXPECT_EQ(mutate("write-fd", "/data.txt").text, "Bad file descriptor");

  std::ifstream in(app_ / "data.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "0123456789");
  EXPECT_FALSE(fs::exists(app_ / "new.txt"));
  EXPECT_FALSE(fs::exists(app_ / "new-dir"));
  EXPECT_FALSE(fs::exists(app_ / "data.txt.other"));
}

// From spin.toml to the guest: the app layer's resolution is what the guest sees.
TEST_F(Filesystem, AManifestsFilesReachTheGuest) {
  auto manifest = app::parse_manifest(R"(spin_manifest_version = 2
[application]
name = "files"
[[trigger.http]]
route = "/..."
component = "web"
[component.web]
source = "web.wasm"
files = [{ source = "static", destination = "/assets" }, "data.txt"]
exclude_files = ["static/sub/**"]
)",
                                      "spin.toml");
  ASSERT_TRUE(manifest.ok()) << manifest.error().describe();
  auto resolved = app::resolve_files(*manifest, "web", app_);
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  std::vector<MountedFile> mounts;
  for (const app::GuestFile& f : resolved->files)
    mounts.push_back({f.guest_path, f.host_path, f.confine_to});
  start(std::move(mounts));

  EXPECT_EQ(list("/").list, (std::vector<std::string>{"assets", "data.txt"}));
  EXPECT_EQ(list("/assets").list, (std::vector<std::string>{"index.html"}));
  EXPECT_EQ(read("/assets/index.html").text, "<h1>hello</h1>");
  EXPECT_EQ(read("/assets/sub/deep.txt").text, kNoEntry);
  EXPECT_EQ(read("/data.txt").text, "0123456789");
  EXPECT_EQ(read("/link.txt").text, kNoEntry);
}

}  // namespace
}  // namespace gyre::wasi
