// Every key-value interface version as a guest sees it: a C component (fixtures/c/keyvalue)
// imports all of them, and each export runs one operation through one version and prints
// the outcome. The host is the real factor, configured from a spin.toml and a runtime
// config as `gyre up` does, over SQLite or a real redis-server.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/key_value/key_value_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace gyre::spin::key_value {
namespace {

namespace fs = std::filesystem;
using component::Val;

// One operation and what the guest must print for it.
struct Step {
  std::string op, key, value, expected;
};
using Script = std::vector<Step>;

// Spin 2 and 3 (3's functions lowered async, its keys read from a stream).
Script spin_script(bool with_keys) {
  Script out = {{"open", "", "", "ok"},           {"delete", "a", "", "ok"},
                {"exists", "a", "", "ok(false)"}, {"get", "a", "", "ok(none)"},
                {"set", "a", "1", "ok"},          {"set", "a", "2", "ok"},
                {"get", "a", "", "ok(\"2\")"},    {"exists", "a", "", "ok(true)"},
                {"set", "b", "", "ok"},           {"get", "b", "", "ok(\"\")"}};
  if (with_keys) out.push_back({"keys", "", "", "ok([a,b])"});
  out.insert(out.end(), {{"delete", "a", "", "ok"}, {"exists", "a", "", "ok(false)"}});
  if (with_keys) out.push_back({"keys", "", "", "ok([b])"});
  out.push_back({"delete", "b", "", "ok"});
  return out;
}

// Spin 1: a missing key is an error, and so is a handle that was never opened.
const Script kV1Script = {{"open", "", "", "ok"},
                          {"get", "a", "", "err(no-such-key)"},
                          {"set", "a", "1", "ok"},
                          {"get", "a", "", "ok(\"1\")"},
                          {"exists", "a", "", "ok(true)"},
                          {"keys", "", "", "ok([a])"},
                          {"bad-handle", "a", "", "err(invalid-store)"},
                          {"delete", "a", "", "ok"},
                          {"exists", "a", "", "ok(false)"},
                          {"get", "a", "", "err(no-such-key)"}};

// wasi:keyvalue store, atomics and batch.
const Script kWasiScript = {
    {"open", "", "", "ok"},
    {"get", "a", "", "ok(none)"},
    {"exists", "a", "", "ok(false)"},
    {"set", "a", "1", "ok"},
    {"get", "a", "", "ok(\"1\")"},
    {"exists", "a", "", "ok(true)"},
    {"keys", "", "", "ok([a])"},
    {"keys-from", "a", "", "err(other: list_keys: cursor not supported)"},
    {"delete", "a", "", "ok"},
    {"keys", "", "", "ok([])"},
    {"increment", "c", "10", "ok(10)"},
    {"increment", "c", "-25", "ok(-15)"},
    {"set-many", "x,y", "1,2", "ok"},
    {"get-many", "x,missing,y", "", "ok([x=\"1\",y=\"2\"])"},
    {"delete-many", "x,y", "", "ok"},
    {"get-many", "x,y", "", "ok([])"},
    {"get-many", "", "", "ok([])"},
    {"set-many", "", "", "ok"},
    {"delete-many", "", "", "ok"},
    {"set", "k", "old", "ok"},
    {"cas", "k", "new", "current=\"old\"; swap: ok"},
    {"get", "k", "", "ok(\"new\")"},
    {"cas", "fresh", "first", "current=none; swap: ok"},
    {"get", "fresh", "", "ok(\"first\")"},
    // Another write between current() and swap(): the swap fails with a new
    // compare-and-swap that has read the new value, and that one succeeds.
    {"cas-race", "k", "mine",
     "current=\"new\"; swap: err(cas-failed); retry current=\"interloper\"; swap: ok"},
    {"get", "k", "", "ok(\"mine\")"},
    {"delete-many", "c,k,fresh", "", "ok"},
    {"keys", "", "", "ok([])"}};

class KeyValueBindings : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("gyre-kv-bindings-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
  }
  void TearDown() override {
    stop();
    fs::remove_all(base_);
  }

  struct Setup {
    std::string grants = R"(["default"])";
    std::string runtime_config;
    fs::path state_dir;
    Options options;
  };

  // Loads the app as `gyre up` would and instantiates the guest; returns the factor's
  // error, or "" when the guest is ready.
  std::string start(Setup setup) {
    log_.clear();
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor(std::move(setup.options)));
    return app_.start(harness_,
                      gyre::testing::guest_manifest("kv", "key_value_stores = " + setup.grants),
                      std::move(factors), "c-keyvalue", setup.runtime_config,
                      {base_, setup.state_dir, base_ / "runtime-config.toml"});
  }

  void stop() {
    harness_.reset();
    app_.stop();
  }

  std::string call(const std::string& version, const std::string& label, const std::string& op,
                   const std::string& key = "", const std::string& value = "") {
    const Val args[] = {Val::string(label), Val::string(op), Val::string(key), Val::string(value)};
    return harness_.call(version, args);
  }

  void run(const std::string& version, const std::string& label, const Script& script) {
    for (const Step& step : script) {
      EXPECT_EQ(call(version, label, step.op, step.key, step.value), step.expected)
          << version << " on " << label << ": " << step.op << " " << step.key << " " << step.value;
    }
  }

  fs::path base_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

TEST_F(KeyValueBindings, EveryFunctionOfEveryVersionWorksOnTheDefaultStore) {
  ASSERT_EQ(start({}), "");
  EXPECT_EQ(log_, "Storing default key-value data to a temporary in-memory store.\n");
  run("v1", "default", kV1Script);
  run("v2", "default", spin_script(true));
  run("v3", "default", spin_script(true));
  run("wasi", "default", kWasiScript);
}

TEST_F(KeyValueBindings, EveryVersionSeesTheSameStore) {
  ASSERT_EQ(start({}), "");
  EXPECT_EQ(call("v1", "default", "set", "from-v1", "one"), "ok");
  EXPECT_EQ(call("v2", "default", "set", "from-v2", "two"), "ok");
  EXPECT_EQ(call("v3", "default", "set", "from-v3", "three"), "ok");
  EXPECT_EQ(call("wasi", "default", "set", "from-wasi", "four"), "ok");
  for (const char* version : {"v2", "v3", "wasi"}) {
    EXPECT_EQ(call(version, "default", "get", "from-v1"), "ok(\"one\")") << version;
    EXPECT_EQ(call(version, "default", "get", "from-wasi"), "ok(\"four\")") << version;
  }
  EXPECT_EQ(call("v1", "default", "get", "from-v3"), "ok(\"three\")");
  EXPECT_EQ(call("wasi", "default", "keys"), "ok([from-v1,from-v2,from-v3,from-wasi])");
}

// Only granted labels open, whether or not the runtime config defines the others: each
// interface answers with its own access-denied error, and nothing traps.
TEST_F(KeyValueBindings, LabelsTheComponentWasNotGrantedAreDenied) {
  ASSERT_EQ(start({R"(["default"])", "[key_value_store.secret]\ntype = \"spin\"\n"}), "");
  for (const char* label : {"secret", "undefined"}) {
    for (const char* version : {"v1", "v2", "v3", "wasi"})
      EXPECT_EQ(call(version, label, "open"), "err(access-denied)") << version << " " << label;
  }
  EXPECT_EQ(call("wasi", "default", "open"), "ok");
}

TEST_F(KeyValueBindings, AComponentWithoutGrantsCannotOpenTheDefaultStore) {
  ASSERT_EQ(start({"[]"}), "");
  EXPECT_EQ(log_, "");  // no component uses the default store: no line about it
  for (const char* version : {"v1", "v2", "v3", "wasi"})
    EXPECT_EQ(call(version, "default", "open"), "err(access-denied)") << version;
}

TEST_F(KeyValueBindings, AGrantedLabelNoStoreDefinesStopsTheAppFromLoading) {
  EXPECT_EQ(start({R"(["default", "cache"])"}),
            "spin.toml: unknown key_value_stores label \"cache\" for component \"guest\"");
}

TEST_F(KeyValueBindings, EachLabelIsItsOwnKeySpace) {
  ASSERT_EQ(start({R"(["default", "other"])", "[key_value_store.other]\ntype = \"spin\"\n"}), "");
  EXPECT_EQ(call("v2", "default", "set", "k", "in default"), "ok");
  EXPECT_EQ(call("v2", "other", "get", "k"), "ok(none)");
  EXPECT_EQ(call("v2", "other", "set", "k", "in other"), "ok");
  EXPECT_EQ(call("wasi", "default", "get", "k"), "ok(\"in default\")");
}

TEST_F(KeyValueBindings, TheDefaultStoreSurvivesARestartInTheStateDirectory) {
  const fs::path state = base_ / ".spin";
  ASSERT_EQ(start({.state_dir = state}), "");
  EXPECT_EQ(log_, "Storing default key-value data to \"" +
                      (state / "sqlite_key_value.db").string() + "\".\n");
  EXPECT_EQ(call("v2", "default", "set", "kept", "across restarts"), "ok");
  EXPECT_EQ(call("wasi", "default", "increment", "n", "5"), "ok(5)");
  stop();
  EXPECT_TRUE(fs::exists(state / "sqlite_key_value.db"));

  ASSERT_EQ(start({.state_dir = state}), "");
  EXPECT_EQ(call("v1", "default", "get", "kept"), "ok(\"across restarts\")");
  EXPECT_EQ(call("wasi", "default", "increment", "n", "1"), "ok(6)");
}

TEST_F(KeyValueBindings, InitialKeyValuesAreWrittenToTheDefaultStoreBeforeAnyRequest) {
  Options seeds{{{"greeting", "hello"}, {"twice", "first"}, {"twice", "second"}}};
  ASSERT_EQ(start({.options = seeds}), "");
  EXPECT_EQ(call("v2", "default", "get", "greeting"), "ok(\"hello\")");
  EXPECT_EQ(call("v2", "default", "get", "twice"), "ok(\"second\")");
  // Into a state directory's file as well, where they stay.
  const fs::path state = base_ / "state";
  ASSERT_EQ(start({.state_dir = state, .options = seeds}), "");
  stop();
  ASSERT_EQ(start({.state_dir = state}), "");
  EXPECT_EQ(call("wasi", "default", "get", "greeting"), "ok(\"hello\")");
}

TEST_F(KeyValueBindings, ARedisStoreServesEveryVersion) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  ASSERT_EQ(start({R"(["cache"])",
                   "[key_value_store.cache]\ntype = \"redis\"\nurl = \"" + server.url() + "\"\n"}),
            "");
  EXPECT_EQ(log_, "");  // the line is about the default store only
  run("v1", "cache", kV1Script);
  run("v2", "cache", spin_script(true));
  run("v3", "cache", spin_script(true));
  run("wasi", "cache", kWasiScript);
  EXPECT_EQ(call("v2", "cache", "set", "written", "by the guest"), "ok");
  EXPECT_EQ(gyre::testing::redis_cli(server, "GET written"), "by the guest");
  EXPECT_EQ(call("wasi", "cache", "increment", "hits", "3"), "ok(3)");
  EXPECT_EQ(gyre::testing::redis_cli(server, "GET hits"), "3");
}

TEST_F(KeyValueBindings, ARedisServerThatIsDownIsAnErrorTheGuestSees) {
  uint16_t port;
  {
    gyre::testing::RedisServer gone;
    port = gone.port();
  }
  ASSERT_EQ(start({R"(["cache"])",
                   "[key_value_store.cache]\ntype = \"redis\"\nurl = "
                   "\"redis://127.0.0.1:" +
                       std::to_string(port) + "\"\n"}),
            "");
  EXPECT_EQ(call("v2", "cache", "open").rfind("err(other: redis: cannot connect to", 0), 0u)
      << call("v2", "cache", "open");
  EXPECT_EQ(call("wasi", "cache", "open").rfind("err(other: redis: cannot connect to", 0), 0u);
  EXPECT_EQ(call("v1", "cache", "open").rfind("err(io: redis: cannot connect to", 0), 0u);
}

}  // namespace
}  // namespace gyre::spin::key_value
