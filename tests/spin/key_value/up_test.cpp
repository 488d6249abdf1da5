// Key-value stores through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/key-value) uses its SDK's Spin store and wasi:keyvalue over real
// HTTP. Data in the state directory survives a restart, labels the manifest does not grant
// are refused, many concurrent requests incrementing one key lose nothing, and a Redis
// store comes from the runtime-config file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace {

namespace fs = std::filesystem;
using gyre::testing::GyreUp;

fs::path kv_app(const std::string& name, const std::string& grants = R"(["default"])") {
  return gyre::testing::make_fixture_app("kv-" + name, "kv", "kv", "python-key-value",
                                         "key_value_stores = " + grants + "\n");
}

// One operation through the guest: its status and body.
std::pair<int, std::string> op(const GyreUp& gyre, const std::string& query) {
  return gyre::testing::get_query(gyre, query);
}

const std::pair<int, std::string> kOk{200, "ok"};

TEST(KeyValueUp, EveryOperationOfThePythonSdkWorks) {
  GyreUp gyre(kv_app("ops"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  // The Spin store (fermyon:spin/key-value@2.0.0).
  EXPECT_EQ(op(gyre, "api=spin&op=set&store=default&key=a&value=1"), kOk);
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=a"), std::pair(200, std::string("1")));
  EXPECT_EQ(op(gyre, "api=spin&op=exists&store=default&key=a").second, "true");
  EXPECT_EQ(op(gyre, "api=spin&op=set&store=default&key=b&value=2"), kOk);
  EXPECT_EQ(op(gyre, "api=spin&op=keys&store=default").second, "a,b");
  EXPECT_EQ(op(gyre, "api=spin&op=delete&store=default&key=b"), kOk);
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=b").second, "none");
  // wasi:keyvalue store, atomics, batch: the same data.
  EXPECT_EQ(op(gyre, "api=wasi&op=get&store=default&key=a").second, "1");
  EXPECT_EQ(op(gyre, "api=wasi&op=set&store=default&key=w&value=x"), kOk);
  EXPECT_EQ(op(gyre, "api=wasi&op=exists&store=default&key=w").second, "true");
  EXPECT_EQ(op(gyre, "api=wasi&op=keys&store=default").second, "a,w");
  EXPECT_EQ(op(gyre, "api=wasi&op=delete&store=default&key=w"), kOk);
  EXPECT_EQ(op(gyre, "api=wasi&op=exists&store=default&key=w").second, "false");
  EXPECT_EQ(op(gyre, "api=wasi&op=increment&store=default&key=n&delta=41").second, "41");
  EXPECT_EQ(op(gyre, "api=wasi&op=increment&store=default&key=n&delta=1").second, "42");
  EXPECT_EQ(op(gyre, "api=wasi&op=set-many&store=default&key=x,y&value=1,2"), kOk);
  EXPECT_EQ(op(gyre, "api=wasi&op=get-many&store=default&key=x,y").second, "x=1,y=2");
  EXPECT_EQ(op(gyre, "api=wasi&op=delete-many&store=default&key=x,y"), kOk);
  EXPECT_EQ(op(gyre, "api=wasi&op=get-many&store=default&key=x,y").second, "");
  EXPECT_EQ(op(gyre, "api=wasi&op=cas&store=default&key=a&value=swapped").second, "swapped 1");
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=a").second, "swapped");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(KeyValueUp, TheDefaultStoreSurvivesARestart) {
  const fs::path app = kv_app("restart");
  {
    GyreUp first(app);
    ASSERT_NE(first.port(), 0) << first.output();
    EXPECT_NE(first.output().find("Storing default key-value data to \"" +
                                  (app / ".spin" / "sqlite_key_value.db").string() + "\"."),
              std::string::npos)
        << first.output();
    EXPECT_EQ(op(first, "api=spin&op=set&store=default&key=kept&value=yes"), kOk);
    EXPECT_EQ(first.stop(), 0) << first.output();
  }
  GyreUp second(app);
  ASSERT_NE(second.port(), 0) << second.output();
  EXPECT_EQ(op(second, "api=wasi&op=get&store=default&key=kept").second, "yes");
  EXPECT_EQ(second.stop(), 0) << second.output();
}

TEST(KeyValueUp, LabelsTheManifestDoesNotGrantAreDenied) {
  GyreUp gyre(kv_app("denied"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=other&key=a"),
            std::pair(409, std::string("err Error_AccessDenied")));
  EXPECT_EQ(op(gyre, "api=wasi&op=get&store=other&key=a"),
            std::pair(409, std::string("err Error_AccessDenied")));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();

  GyreUp none(kv_app("no-grants", "[]"));
  ASSERT_NE(none.port(), 0) << none.output();
  EXPECT_EQ(op(none, "api=spin&op=get&store=default&key=a").second, "err Error_AccessDenied");
  EXPECT_EQ(none.stop(), 0) << none.output();
}

TEST(KeyValueUp, AGrantedLabelNoStoreDefinesStopsTheApp) {
  GyreUp gyre(kv_app("unknown", R"(["default", "cache"])"));
  EXPECT_EQ(gyre.port(), 0);
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find("unknown key_value_stores label \"cache\" for component \"kv\""),
            std::string::npos)
      << gyre.output();
}

// 8 clients each send 100 increments of one key at once; then each has set 25 keys of its
// own. Every write lands.
TEST(KeyValueUp, ConcurrentRequestsWritingTheSameKeysLoseNothing) {
  GyreUp gyre(kv_app("concurrent"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::vector<std::future<int>> clients;
  for (int c = 0; c < 8; ++c) {
    clients.push_back(std::async(std::launch::async, [&, c] {
      int failures = 0;
      for (int i = 0; i < 100; ++i) {
        if (op(gyre, "api=wasi&op=increment&store=default&key=counter").first != 200) ++failures;
        if (i % 4 != 0) continue;
        const std::string key = "c" + std::to_string(c) + "-" + std::to_string(i);
        if (op(gyre, "api=spin&op=set&store=default&key=" + key + "&value=" + key) != kOk)
          ++failures;
      }
      return failures;
    }));
  }
  int failures = 0;
  for (auto& client : clients)
    failures += client.get();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(op(gyre, "api=wasi&op=increment&store=default&key=counter&delta=0").second, "800");
  const std::string keys = op(gyre, "api=spin&op=keys&store=default").second;
  EXPECT_EQ(std::count(keys.begin(), keys.end(), ','), 200);  // 200 keys and the counter
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(KeyValueUp, ARedisStoreFromTheRuntimeConfigFile) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  const fs::path app = kv_app("redis", R"(["cache"])");
  std::ofstream(app / "runtime-config.toml")
      << "[key_value_store.cache]\ntype = \"redis\"\nurl = \"" << server.url() << "\"\n";
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "api=spin&op=set&store=cache&key=greeting&value=hi"), kOk);
  EXPECT_EQ(gyre::testing::redis_cli(server, "GET greeting"), "hi");
  EXPECT_EQ(op(gyre, "api=wasi&op=increment&store=cache&key=hits&delta=2").second, "2");
  EXPECT_EQ(gyre::testing::redis_cli(server, "GET hits"), "2");
  EXPECT_EQ(op(gyre, "api=wasi&op=cas&store=cache&key=greeting&value=bye").second, "swapped hi");
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=cache&key=greeting").second, "bye");
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=a").second, "err Error_AccessDenied");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// A guest waiting on a Redis store holds no thread: while the server holds every write
// (CLIENT PAUSE WRITE), more guests than the app has worker threads and lanes wait in a
// set at once, each on a connection of its own, and each write lands once it lets go.
TEST(KeyValueUp, ManyGuestsWaitOnARedisStoreAtOnce) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  const fs::path app = kv_app("redis-waiting", R"(["cache"])");
  std::ofstream(app / "runtime-config.toml")
      << "[key_value_store.cache]\ntype = \"redis\"\nurl = \"" << server.url() << "\"\n";
  GyreUp gyre(app, {"--runtime-config-file", (app / "runtime-config.toml").string()});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  // Released after a minute at the latest (a hang guard, not a timing).
  gyre::testing::redis_cli(server, "CLIENT PAUSE 60000 WRITE");
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (int i = 0; i < guests; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      const std::string n = std::to_string(i);
      return op(gyre, "api=spin&op=set&store=cache&key=k" + n + "&value=v" + n);
    }));
  }
  int most_waiting = 0;  // at once
  for (int tries = 0; tries < 600 && most_waiting < guests; ++tries) {
    most_waiting = std::max(most_waiting, gyre::testing::blocked_clients(server));
    if (most_waiting < guests) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(most_waiting, guests) << gyre.output();
  gyre::testing::redis_cli(server, "CLIENT UNPAUSE");
  for (auto& answer : answers)
    EXPECT_EQ(answer.get(), kOk);
  for (int i = 0; i < guests; ++i)
    EXPECT_EQ(gyre::testing::redis_cli(server, "GET k" + std::to_string(i)),
              "v" + std::to_string(i));
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(KeyValueUp, AWrongRuntimeConfigStopsTheAppNamingTheFileAndKey) {
  const fs::path app = kv_app("bad-config");
  std::ofstream(app / "rc.toml") << "[key_value_store.cache]\ntype = \"memcached\"\n";
  GyreUp gyre(app, {"--runtime-config-file", (app / "rc.toml").string()});
  EXPECT_EQ(gyre.port(), 0);
  EXPECT_NE(gyre.stop(), 0);
  EXPECT_NE(gyre.output().find((app / "rc.toml").string() +
                               ":2:8: key_value_store.cache.type: could not configure key-value "
                               "store with label 'cache': the store type 'memcached' was not "
                               "registered with the config resolver"),
            std::string::npos)
      << gyre.output();
}

}  // namespace

namespace {

TEST(KeyValueUp, KeyValueFlagsSeedTheDefaultStoreBeforeServing) {
  GyreUp gyre(kv_app("seeded"), {"--key-value", "greeting=hello there", "--key-value",
                                 "equation=a=b", "--key-value", "greeting=replaced"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=greeting").second, "replaced");
  EXPECT_EQ(op(gyre, "api=spin&op=get&store=default&key=equation").second, "a=b");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();

  auto bad = gyre::testing::run_command(gyre::testing::gyre_binary() + " up -f " +
                                        kv_app("badseed").string() + " --key-value novalue 2>&1");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.text.find("Key/Values must be of the form `key=value`"), std::string::npos)
      << bad.text;
}

// A component built against Spin 4's WIT (fixtures/c/spin4http) lowers
// spin:key-value@3.0.0's async functions async and reads get-keys from a stream, over
// real HTTP; its data survives a restart like any other.
TEST(KeyValueUp, ASpin4ComponentUsesTheStoreAsync) {
  using gyre::testing::get_path;
  const fs::path app = gyre::testing::make_fixture_app("kv-spin4", "kv4", "web", "c-spin4http",
                                                       "key_value_stores = [\"default\"]\n");
  {
    GyreUp gyre(app);
    ASSERT_NE(gyre.port(), 0) << gyre.output();
    EXPECT_EQ(get_path(gyre, "/get/a"), std::pair(404, std::string("none")));
    EXPECT_EQ(get_path(gyre, "/set/b/two"), std::pair(200, std::string("ok")));
    EXPECT_EQ(get_path(gyre, "/set/a/one"), std::pair(200, std::string("ok")));
    EXPECT_EQ(get_path(gyre, "/get/a"), std::pair(200, std::string("one")));
    EXPECT_EQ(get_path(gyre, "/keys"), std::pair(200, std::string("a,b")));
    EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  }
  GyreUp again(app);
  ASSERT_NE(again.port(), 0) << again.output();
  EXPECT_EQ(get_path(again, "/get/b"), std::pair(200, std::string("two")));
  EXPECT_EQ(again.stop(), 0) << again.output();
}

}  // namespace
