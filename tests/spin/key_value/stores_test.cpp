// The key-value backends as the bindings use them, and the runtime config that picks
// them: SQLite (Spin's table, a database Spin wrote, many writers on one file through
// separate connections), Redis against a real redis-server, and the errors a wrong
// `[key_value_store.*]` section gets, in Spin's words.
#include "spin/key_value/stores.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "spin/key_value/redis_store.hpp"
#include "spin/key_value/sqlite_store.hpp"
#include "support/redis_server.hpp"

namespace gyre::spin::key_value {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("gyre-kv-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The value of a result that must be ok.
template <class T, class E>
T must(gyre::Result<T, E> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error";
    return T{};
  }
  return std::move(result).value();
}

std::shared_ptr<Store> open(StoreProvider& provider, const std::string& label) {
  auto store = provider.open(label, nullptr);
  EXPECT_TRUE(store.ok()) << store.error().message;
  return store.ok() ? *store : nullptr;
}

std::shared_ptr<StoreProvider> sqlite(std::optional<fs::path> path) {
  auto provider = make_sqlite_provider(std::move(path));
  EXPECT_TRUE(provider.ok()) << provider.error();
  return *provider;
}

std::optional<std::string> get(Store& store, const std::string& key) {
  auto value = store.get(key, nullptr);
  EXPECT_TRUE(value.ok()) << value.error().message;
  return value.ok() ? *value : std::nullopt;
}

std::vector<std::string> sorted_keys(Store& store) {
  auto keys = store.keys(nullptr);
  EXPECT_TRUE(keys.ok()) << keys.error().message;
  std::vector<std::string> out = keys.ok() ? *keys : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

// Every operation of one store, as a guest would use them.
void exercise(Store& store) {
  EXPECT_EQ(get(store, "a"), std::nullopt);
  EXPECT_FALSE(must(store.exists("a", nullptr)));
  ASSERT_TRUE(store.set("a", "1", nullptr).ok());
  ASSERT_TRUE(store.set("a", "2", nullptr).ok());
  EXPECT_EQ(get(store, "a"), "2");
  EXPECT_TRUE(must(store.exists("a", nullptr)));
  ASSERT_TRUE(store.set("empty", "", nullptr).ok());
  EXPECT_EQ(get(store, "empty"), "");
  const std::string binary("\0\xff\x01", 3);
  ASSERT_TRUE(store.set("binary", binary, nullptr).ok());
  EXPECT_EQ(get(store, "binary"), binary);
  EXPECT_EQ(sorted_keys(store), (std::vector<std::string>{"a", "binary", "empty"}));
  ASSERT_TRUE(store.remove("a", nullptr).ok());
  ASSERT_TRUE(store.remove("a", nullptr).ok());  // absent: still fine
  EXPECT_FALSE(must(store.exists("a", nullptr)));

  ASSERT_TRUE(store.set_many({{"x", "1"}, {"y", "2"}}, nullptr).ok());
  auto many = store.get_many({"x", "missing", "y"}, nullptr);
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(*many, (MaybeKeyValues{{"x", "1"}, {"y", "2"}}));
  ASSERT_TRUE(store.remove_many({"x", "y", "empty", "binary"}, nullptr).ok());
  EXPECT_TRUE(sorted_keys(store).empty());

  EXPECT_EQ(must(store.increment("counter", 10, nullptr)), 10);
  EXPECT_EQ(must(store.increment("counter", -25, nullptr)), -15);

  // A compare-and-swap succeeds when nothing changed, fails when something did, and on a
  // missing key only inserts.
  ASSERT_TRUE(store.set("k", "old", nullptr).ok());
  auto cas = store.new_cas("k", nullptr);
  ASSERT_TRUE(cas.ok());
  EXPECT_EQ(must((*cas)->current(nullptr)), "old");
  EXPECT_TRUE((*cas)->swap("new", nullptr).ok());
  EXPECT_EQ(get(store, "k"), "new");
  auto raced = store.new_cas("k", nullptr);
  EXPECT_EQ(must((*raced)->current(nullptr)), "new");
  ASSERT_TRUE(store.set("k", "interloper", nullptr).ok());
  auto lost = (*raced)->swap("mine", nullptr);
  ASSERT_FALSE(lost.ok());
  EXPECT_TRUE(lost.error().cas_failed);
  EXPECT_EQ(get(store, "k"), "interloper");
  auto fresh = store.new_cas("fresh", nullptr);
  EXPECT_EQ(must((*fresh)->current(nullptr)), std::nullopt);
  ASSERT_TRUE(store.set("fresh", "first", nullptr).ok());
  auto late = (*fresh)->swap("second", nullptr);
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(late.error().cas_failed);
  EXPECT_EQ(get(store, "fresh"), "first");
}

TEST(KeyValueSqlite, EveryOperationWorksInMemory) {
  auto provider = sqlite(std::nullopt);
  EXPECT_EQ(provider->summary(), "a temporary in-memory store");
  exercise(*open(*provider, "default"));
}

TEST(KeyValueSqlite, LabelsAreSeparateKeySpacesInOneFile) {
  const fs::path dir = temp_dir("labels");
  auto provider = sqlite(dir / "nested" / "kv.db");  // the folder is made for it
  EXPECT_EQ(provider->summary(), "\"" + (dir / "nested" / "kv.db").string() + "\"");
  auto one = open(*provider, "one");
  auto two = open(*provider, "two");
  ASSERT_TRUE(one->set("k", "from one", nullptr).ok());
  EXPECT_EQ(get(*two, "k"), std::nullopt);
  exercise(*two);
  EXPECT_EQ(get(*one, "k"), "from one");
  fs::remove_all(dir);
}

// Spin's own table, as Spin creates it, and a row Spin wrote (an increment is 8 bytes,
// little-endian): Gyre reads it and adds to it.
TEST(KeyValueSqlite, ReadsADatabaseSpinWrote) {
  const fs::path dir = temp_dir("spin-db");
  const fs::path file = dir / "sqlite_key_value.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE IF NOT EXISTS spin_key_value ("
                         " store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
                         " PRIMARY KEY (store, key));"
                         "INSERT INTO spin_key_value VALUES ('default', 'greeting', x'6869');"
                         "INSERT INTO spin_key_value VALUES ('default', 'n', x'0500000000000000');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);

  auto store = open(*sqlite(file), "default");
  EXPECT_EQ(get(*store, "greeting"), "hi");
  EXPECT_EQ(must(store->increment("n", 2, nullptr)), 7);
  fs::remove_all(dir);
}

TEST(KeyValueSqlite, AnIncrementOfAValueThatIsNoIntegerIsAnError) {
  auto store = open(*sqlite(std::nullopt), "default");
  ASSERT_TRUE(store->set("text", "hello", nullptr).ok());
  auto sum = store->increment("text", 1, nullptr);
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.error().kind, Error::Kind::kOther);
  EXPECT_NE(sum.error().message.find("not an 8-byte little-endian integer"), std::string::npos);
}

TEST(KeyValueSqlite, AFileThatCannotBeOpenedIsAnErrorForTheGuest) {
  const fs::path dir = temp_dir("unopenable");
  fs::create_directories(dir / "kv.db");  // a folder where the file should be
  auto store = sqlite(dir / "kv.db")->open("default", nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().kind, Error::Kind::kOther);
  EXPECT_NE(store.error().message.find("kv.db"), std::string::npos) << store.error().message;
  fs::remove_all(dir);
}

// Two providers are two connections, as two processes on one state directory would be:
// 8 writers (4 on each) increment one key 100 times and each set 100 keys of its own;
// WAL and the busy timeout make every write count.
TEST(KeyValueSqlite, ConcurrentWritersThroughSeparateConnectionsLoseNothing) {
  const fs::path dir = temp_dir("concurrent");
  auto first = sqlite(dir / "kv.db");
  auto second = sqlite(dir / "kv.db");
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      auto store = (t % 2 ? first : second)->open("default", nullptr);
      if (!store.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < 100; ++i) {
        if (!(*store)->increment("counter", 1, nullptr).ok()) ++failures;
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!(*store)->set(key, key, nullptr).ok()) ++failures;
      }
    });
  }
  for (auto& w : writers)
    w.join();
  EXPECT_EQ(failures, 0);
  auto store = open(*first, "default");
  EXPECT_EQ(must(store->increment("counter", 0, nullptr)), 800);
  EXPECT_EQ(store->keys(nullptr)->size(), 801u);
  fs::remove_all(dir);
}

// ---- Redis ------------------------------------------------------------------------

TEST(KeyValueRedis, EveryOperationWorksAgainstARealServer) {
  testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  auto url = parse_redis_url(server.url());
  ASSERT_TRUE(url.ok()) << url.error();
  auto provider = make_redis_provider(*url);
  EXPECT_EQ(provider->summary(), "Redis at 127.0.0.1:" + std::to_string(server.port()));
  auto store = open(*provider, "cache");
  exercise(*store);
  // The data is in Redis under the plain keys, increments as Redis integers.
  ASSERT_TRUE(store->set("seen", "by redis", nullptr).ok());
  EXPECT_EQ(testing::redis_cli(server, "GET seen"), "by redis");
  EXPECT_EQ(testing::redis_cli(server, "GET counter"), "-15");
}

TEST(KeyValueRedis, ConcurrentIncrementsLoseNothing) {
  testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  auto provider = make_redis_provider(must(parse_redis_url(server.url())));
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      auto store = provider->open("default", nullptr);
      for (int i = 0; i < 100; ++i)
        if (!store.ok() || !(*store)->increment("counter", 1, nullptr).ok()) ++failures;
    });
  }
  for (auto& w : writers)
    w.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(testing::redis_cli(server, "GET counter"), "800");
}

TEST(KeyValueRedis, AServerThatIsNotThereIsAnErrorAtOpen) {
  uint16_t port;
  {
    testing::RedisServer gone;  // a port that was just free
    port = gone.port();
  }
  auto provider =
      make_redis_provider(must(parse_redis_url("redis://127.0.0.1:" + std::to_string(port))));
  auto store = provider->open("default", nullptr);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().kind, Error::Kind::kOther);
  EXPECT_NE(store.error().message.find("cannot connect"), std::string::npos)
      << store.error().message;
}

// Writing to a connection the server has closed raises SIGPIPE, which would end the
// whole process; the guest gets an error instead, and the next call reconnects.
TEST(KeyValueRedis, AServerThatGoesAwayIsAnErrorNotACrash) {
  auto server = std::make_unique<testing::RedisServer>();
  ASSERT_NE(server->port(), 0) << server->output();
  auto provider = make_redis_provider(must(parse_redis_url(server->url())));
  auto store = open(*provider, "default");
  ASSERT_TRUE(store->set("k", "v", nullptr).ok());
  server.reset();
  const std::string big(16 << 20, 'x');  // more than a socket buffer: several writes
  for (int i = 0; i < 3; ++i) {
    auto set = store->set("k", big, nullptr);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.error().message.rfind("redis: ", 0), 0u) << set.error().message;
  }
}

TEST(KeyValueRedisUrl, ParsesWhatSpinAccepts) {
  auto full = parse_redis_url("redis://user:p%40ss@example.com:6380/3");
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->host, "example.com");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->username, "user");
  EXPECT_EQ(full->password, "p@ss");
  EXPECT_EQ(full->database, 3);
  auto plain = parse_redis_url("redis://localhost");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(parse_redis_url("redis://[::1]:7000")->host, "::1");
  EXPECT_EQ(parse_redis_url("unix:///run/redis.sock?db=2")->socket_path, "/run/redis.sock");
  EXPECT_EQ(parse_redis_url("http://localhost").error(), "Invalid Redis URL");
  EXPECT_FALSE(parse_redis_url("redis://host:notaport").ok());
  EXPECT_FALSE(parse_redis_url("redis://:6379").ok());
}

// ---- runtime config -----------------------------------------------------------------

struct Resolved {
  Result<Stores, std::string> stores;
  RuntimeConfig config;
};

// Where the runtime-config file of these tests says it is (it is never written).
fs::path rc_dir() {
  return fs::temp_directory_path() / ("gyre-kv-rc-" + std::to_string(getpid()));
}
std::string rc_file() {
  return (rc_dir() / "runtime-config.toml").string();
}

Resolved resolve(const std::string& toml, const fs::path& state_dir = {}) {
  auto config = RuntimeConfig::parse(toml, rc_file());
  EXPECT_TRUE(config.ok()) << config.error();
  Resolved out{std::string("not resolved"), std::move(config).value()};
  out.stores = resolve_stores(out.config, state_dir);
  return out;
}

TEST(KeyValueRuntimeConfig, WithoutAFileTheDefaultStoreIsInMemoryOrInTheStateDir) {
  auto none = resolve("");
  ASSERT_TRUE(none.stores.ok());
  EXPECT_TRUE(none.stores->defines("default"));
  EXPECT_FALSE(none.stores->defines("other"));
  EXPECT_EQ(none.stores->provider("default")->summary(), "a temporary in-memory store");
  EXPECT_EQ(none.stores->open("other", nullptr).error().kind, Error::Kind::kNoSuchStore);

  const fs::path dir = temp_dir("state") / ".spin";
  auto stated = resolve("", dir);
  ASSERT_TRUE(stated.stores.ok());
  EXPECT_EQ(stated.stores->provider("default")->summary(),
            "\"" + (dir / "sqlite_key_value.db").string() + "\"");
  EXPECT_TRUE(fs::is_directory(dir));  // made at start-up, as Spin does
  auto store = stated.stores->open("default", nullptr);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->set("k", "v", nullptr).ok());
  EXPECT_TRUE(fs::exists(dir / "sqlite_key_value.db"));
  fs::remove_all(dir.parent_path());
}

TEST(KeyValueRuntimeConfig, SpinStoresTakePathsRelativeToTheFile) {
  const fs::path absolute = temp_dir("absolute") / "kv.db";
  auto resolved = resolve(R"(
[key_value_store.default]
type = "spin"

[key_value_store.files]
type = "spin"
path = "data/files.db"

[key_value_store.absolute]
type = "spin"
path = ")" + absolute.string() +
                          R"("
)");
  ASSERT_TRUE(resolved.stores.ok()) << resolved.stores.error();
  EXPECT_EQ(resolved.config.unused_keys_error(), std::nullopt);
  // A spin store without a path is in memory, even `default` with a state directory.
  EXPECT_EQ(resolved.stores->provider("default")->summary(), "a temporary in-memory store");
  EXPECT_EQ(resolved.stores->provider("files")->summary(),
            "\"" + (rc_dir() / "data" / "files.db").string() + "\"");
  EXPECT_TRUE(fs::is_directory(rc_dir() / "data"));
  EXPECT_EQ(resolved.stores->provider("absolute")->summary(), "\"" + absolute.string() + "\"");
  fs::remove_all(absolute.parent_path());
  fs::remove_all(rc_dir());
}

TEST(KeyValueRuntimeConfig, RedisStoresTakeAUrl) {
  auto resolved = resolve(R"(
[key_value_store.cache]
type = "redis"
url = "redis://127.0.0.1:6379/1"
)");
  ASSERT_TRUE(resolved.stores.ok()) << resolved.stores.error();
  EXPECT_EQ(resolved.stores->provider("cache")->summary(), "Redis at 127.0.0.1:6379");
  EXPECT_TRUE(resolved.stores->defines("default"));
}

TEST(KeyValueRuntimeConfig, ErrorsNameTheFileTheKeyAndTheReason) {
  const std::string file = rc_file();
  EXPECT_EQ(resolve("[key_value_store.x]\ntype = \"nope\"\n").stores.error(),
            file +
                ":2:8: key_value_store.x.type: could not configure key-value store with "
                "label 'x': the store type 'nope' was not registered with the config resolver");
  EXPECT_EQ(resolve("[key_value_store.x]\npath = \"a.db\"\n").stores.error(),
            file + ":1:1: key_value_store.x: missing field `type`");
  EXPECT_EQ(resolve("[key_value_store.x]\ntype = 3\n").stores.error(),
            file + ":2:8: key_value_store.x.type: invalid type: expected a string");
  EXPECT_EQ(resolve("[key_value_store.x]\ntype = \"redis\"\n").stores.error(),
            file +
                ":1:1: key_value_store.x: could not configure key-value store with label 'x': "
                "could not parse key-value runtime config: missing field `url`");
  EXPECT_EQ(resolve("[key_value_store.x]\ntype = \"redis\"\nurl = \"http://h\"\n").stores.error(),
            file +
                ":3:7: key_value_store.x.url: could not configure key-value store with label "
                "'x': could not make key-value store from runtime config: Invalid Redis URL");
  EXPECT_EQ(resolve("[key_value_store.x]\ntype = \"spin\"\npath = 1\n").stores.error(),
            file +
                ":3:8: key_value_store.x.path: could not configure key-value store with label "
                "'x': could not parse key-value runtime config: invalid type: expected a string");
  EXPECT_EQ(resolve("key_value_store = 1\n").stores.error(),
            file + ":1:19: key_value_store: invalid type: expected a table of stores by label");
  EXPECT_EQ(resolve("[key_value_store]\nx = 1\n").stores.error(),
            file + ":2:5: key_value_store.x: invalid type: expected a table");
}

}  // namespace
}  // namespace gyre::spin::key_value
