// The engine layer as its users see it: compile (and the compile cache), link host
// functions, instantiate, call, and every way a guest can fail.
#include "wasm/engine.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "wasm/instance.hpp"
#include "wasm/linker.hpp"
#include "wasm/module.hpp"
#include "wasm/reexport_module.hpp"
#include "wasm/store.hpp"
#include "wasm/wat.hpp"

namespace gyre::wasm {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<Engine> make_engine(EngineConfig config = {}) {
  // Tests run many engines side by side; a small pool keeps the reservations small.
  config.pool_instances = 64;
  auto engine = Engine::create(config);
  EXPECT_TRUE(engine.ok());
  return std::move(engine).value();
}

std::vector<uint8_t> binary(std::string_view wat) {
  auto bytes = wat_to_binary(wat);
  EXPECT_TRUE(bytes.ok()) << bytes.error().describe();
  return std::move(bytes).value();
}

Module compile(Engine& engine, std::string_view wat) {
  auto module = engine.compile(binary(wat));
  EXPECT_TRUE(module.ok()) << module.error().describe();
  return std::move(module).value();
}

// Prepares and instantiates `wat` in `store` with no imports.
Instance instantiate(Engine& engine, Store& store, std::string_view wat) {
  Linker linker(engine);
  auto pre = linker.prepare(compile(engine, wat));
  EXPECT_TRUE(pre.ok()) << pre.error().describe();
  auto instance = pre->instantiate(store);
  EXPECT_TRUE(instance.ok()) << instance.error().describe();
  return *instance;
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("gyre-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

constexpr std::string_view kAdd = R"((module
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)))";

TEST(Engine, CallsAnExportThroughTheCheckedAndTheRawPath) {
  auto engine = make_engine();
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kAdd);
  auto add = instance.func(store.context(), "add");
  ASSERT_TRUE(add.has_value());

  std::vector<Value> args{int32_t{40}, int32_t{2}};
  auto checked = add->call(store.context(), args);
  ASSERT_TRUE(checked.ok()) << checked.error().describe();
  ASSERT_EQ(checked->size(), 1u);
  EXPECT_EQ(std::get<int32_t>((*checked)[0]), 42);

  RawValue slots[2] = {RawValue::from_i32(-5), RawValue::from_i32(7)};
  auto raw = add->call_raw(store.context(), slots);
  ASSERT_TRUE(raw.ok()) << raw.error().describe();
  EXPECT_EQ(slots[0].i32, 2);

  EXPECT_EQ(add->type(store.context()),
            (FuncType{{ValType::kI32, ValType::kI32}, {ValType::kI32}}));
  EXPECT_FALSE(instance.func(store.context(), "missing").has_value());
}

TEST(Engine, CheckedCallWithWrongArgumentsIsAnErrorNotACrash) {
  auto engine = make_engine();
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kAdd);
  auto add = instance.func(store.context(), "add");
  std::vector<Value> args{int32_t{1}};
  auto result = add->call(store.context(), args);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message().find("argument"), std::string::npos)
      << result.error().message();
}

TEST(Engine, InvalidModuleIsACompileError) {
  auto engine = make_engine();
  const std::vector<uint8_t> garbage{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff};
  auto module = engine->compile(garbage);
  ASSERT_FALSE(module.ok());
  EXPECT_EQ(module.error().kind(), ErrorKind::kCompile);
  EXPECT_FALSE(module.error().message().empty());
}

TEST(Engine, TextSyntaxErrorIsACompileError) {
  auto bytes = wat_to_binary("(module (func (export \"f\") (result i32) i32.bogus))");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.error().kind(), ErrorKind::kCompile);
  EXPECT_NE(bytes.error().message().find("i32.bogus"), std::string::npos)
      << bytes.error().message();
}

TEST(Engine, ModuleListsItsImportsAndExports) {
  auto engine = make_engine();
  Module module = compile(*engine, R"((module
    (import "host" "log" (func (param i32)))
    (memory (export "memory") 1)
    (func (export "run"))))");
  auto imports = module.imports();
  ASSERT_EQ(imports.size(), 1u);
  EXPECT_EQ(imports[0].module, "host");
  EXPECT_EQ(imports[0].name, "log");
  EXPECT_EQ(imports[0].kind, ExternKind::kFunc);
  auto exports = module.exports();
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0].name, "memory");
  EXPECT_EQ(exports[0].kind, ExternKind::kMemory);
  EXPECT_EQ(exports[1].name, "run");
}

TEST(CompileCache, SecondEngineOnTheSameCacheDoesNotRecompile) {
  TempDir cache;
  const std::vector<uint8_t> bytes = binary(kAdd);
  EngineConfig config;
  config.cache_dir = cache.path();

  {
    auto first = make_engine(config);
    auto module = first->compile(bytes);
    ASSERT_TRUE(module.ok()) << module.error().describe();
    EXPECT_FALSE(module->loaded_from_cache());
    EXPECT_EQ(first->counters().compiled, 1u);
    EXPECT_EQ(first->counters().cache_hits, 0u);
  }

  // A new engine is what a second `gyre` start has: nothing in memory, only the disk.
  auto second = make_engine(config);
  auto module = second->compile(bytes);
  ASSERT_TRUE(module.ok()) << module.error().describe();
  EXPECT_TRUE(module->loaded_from_cache());
  EXPECT_EQ(second->counters().compiled, 0u);
  EXPECT_EQ(second->counters().cache_hits, 1u);

  // And the cached code runs.
  Store store(*second);
  Linker linker(*second);
  auto pre = linker.prepare(*module);
  ASSERT_TRUE(pre.ok());
  auto instance = pre->instantiate(store);
  ASSERT_TRUE(instance.ok());
  RawValue slots[2] = {RawValue::from_i32(20), RawValue::from_i32(22)};
  ASSERT_TRUE(instance->func(store.context(), "add")->call_raw(store.context(), slots).ok());
  EXPECT_EQ(slots[0].i32, 42);
}

TEST(CompileCache, DifferentBytesOrConfigurationMiss) {
  TempDir cache;
  EngineConfig config;
  config.cache_dir = cache.path();
  auto engine = make_engine(config);
  ASSERT_TRUE(engine->compile(binary(kAdd)).ok());
  ASSERT_TRUE(engine->compile(binary("(module (func (export \"f\")))")).ok());
  EXPECT_EQ(engine->counters().compiled, 2u);

  // Code compiled without epoch checks must not be reused by an engine that needs them.
  config.epoch_interruption = false;
  auto other = make_engine(config);
  auto module = other->compile(binary(kAdd));
  ASSERT_TRUE(module.ok());
  EXPECT_FALSE(module->loaded_from_cache());
  EXPECT_EQ(other->counters().compiled, 1u);
}

TEST(CompileCache, CorruptEntryIsRecompiledAndReplaced) {
  TempDir cache;
  EngineConfig config;
  config.cache_dir = cache.path();
  const std::vector<uint8_t> bytes = binary(kAdd);
  auto engine = make_engine(config);
  ASSERT_TRUE(engine->compile(bytes).ok());

  ModuleCache view(cache.path(), engine->fingerprint());
  const auto entry = view.find(view.key(bytes));
  ASSERT_TRUE(entry.has_value());
  std::ofstream(*entry, std::ios::binary | std::ios::trunc) << "not a compiled module";

  auto again = make_engine(config);
  auto module = again->compile(bytes);
  ASSERT_TRUE(module.ok()) << module.error().describe();
  EXPECT_FALSE(module->loaded_from_cache());
  EXPECT_EQ(again->counters().compiled, 1u);

  auto third = make_engine(config);
  auto repaired = third->compile(bytes);
  ASSERT_TRUE(repaired.ok());
  EXPECT_TRUE(repaired->loaded_from_cache());
}

TEST(Trap, CarriesTheTrapCodeAndTheWasmBacktrace) {
  auto engine = make_engine();
  Store store(*engine);
  Instance instance = instantiate(*engine, store, R"((module $guest
    (func $inner unreachable)
    (func $middle call $inner)
    (func $outer (export "run") call $middle)))");
  auto result = instance.func(store.context(), "run")->call(store.context(), {});
  ASSERT_FALSE(result.ok());
  const Error& error = result.error();
  EXPECT_EQ(error.kind(), ErrorKind::kTrap);
  EXPECT_EQ(error.trap_code(), TrapCode::kUnreachable);
  ASSERT_EQ(error.backtrace().size(), 3u);
  EXPECT_EQ(error.backtrace()[0].function, "inner");
  EXPECT_EQ(error.backtrace()[1].function, "middle");
  EXPECT_EQ(error.backtrace()[2].function, "outer");
  EXPECT_EQ(error.backtrace()[0].module, "guest");
  EXPECT_GT(error.backtrace()[0].module_offset, 0u);
  EXPECT_NE(error.describe().find("guest!inner"), std::string::npos) << error.describe();
}

TEST(Trap, OutOfBoundsAccessAndDivisionByZeroHaveTheirCodes) {
  auto engine = make_engine();
  Store store(*engine);
  Instance instance = instantiate(*engine, store, R"((module
    (memory 1)
    (func (export "oob") (result i32) i32.const 70000 i32.load)
    (func (export "div") (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)))");
  auto oob = instance.func(store.context(), "oob")->call(store.context(), {});
  ASSERT_FALSE(oob.ok());
  EXPECT_EQ(oob.error().trap_code(), TrapCode::kMemoryOutOfBounds);
  std::vector<Value> zero{int32_t{0}};
  auto div = instance.func(store.context(), "div")->call(store.context(), zero);
  ASSERT_FALSE(div.ok());
  EXPECT_EQ(div.error().trap_code(), TrapCode::kIntegerDivisionByZero);

  // A trap ends the call, not the store: the instance still answers.
  std::vector<Value> two{int32_t{2}};
  auto ok = instance.func(store.context(), "div")->call(store.context(), two);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(std::get<int32_t>((*ok)[0]), 0);
}

constexpr std::string_view kLoop = R"((module
  (func (export "forever") (loop br 0))
  (func (export "quick") (result i32) i32.const 7)))";

// Calls the looping guest after `limit` set its store's deadline: the error it ended
// with, and how long it ran.
template <class Limit>
std::pair<Error, std::chrono::steady_clock::duration> run_forever(Limit limit) {
  EngineConfig config;
  config.epoch_tick = 5ms;
  auto engine = make_engine(config);
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kLoop);
  limit(store);
  const auto start = std::chrono::steady_clock::now();
  auto result = instance.func(store.context(), "forever")->call(store.context(), {});
  EXPECT_FALSE(result.ok());
  return {result.ok() ? Error(ErrorKind::kUsage, "returned") : result.error(),
          std::chrono::steady_clock::now() - start};
}

TEST(Deadline, EndsAGuestStuckInALoop) {
  const auto [error, ran] = run_forever([](Store& store) { store.set_deadline(50ms); });
  EXPECT_EQ(error.kind(), ErrorKind::kDeadline);
  EXPECT_EQ(error.trap_code(), TrapCode::kInterrupt);
  // Not a timing assertion on speed: only that it did not stop before its deadline.
  EXPECT_GE(ran, 45ms);
}

TEST(Deadline, StoresWithoutADeadlineRunUntouchedAndClearingOneWorks) {
  EngineConfig config;
  config.epoch_tick = 1ms;
  auto engine = make_engine(config);
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kLoop);
  std::this_thread::sleep_for(20ms);  // many ticks pass; no deadline means none is hit
  auto quick = instance.func(store.context(), "quick")->call(store.context(), {});
  ASSERT_TRUE(quick.ok()) << quick.error().describe();

  store.set_deadline(1ms);
  store.clear_deadline();
  std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(instance.func(store.context(), "quick")->call(store.context(), {}).ok());
}

TEST(StopWhen, ADeadlineEndsAGuestStuckInALoop) {
  const auto [error, ran] =
      run_forever([](Store& store) { store.stop_when(StopWhen{50ms, nullptr}); });
  EXPECT_EQ(error.kind(), ErrorKind::kDeadline) << error.describe();
  EXPECT_EQ(error.message(), kDeadlineText);
  EXPECT_GE(ran, 45ms);
}

TEST(StopWhen, AFlagSetFromAnotherThreadEndsAGuestStuckInALoop) {
  EngineConfig config;
  config.epoch_tick = 5ms;
  auto engine = make_engine(config);
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kLoop);
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  store.stop_when(StopWhen{std::nullopt, cancelled});
  // Until the flag is set the guest runs on: quick calls return, however many ticks pass.
  std::this_thread::sleep_for(30ms);
  EXPECT_TRUE(instance.func(store.context(), "quick")->call(store.context(), {}).ok());
  std::thread setter([cancelled] {
    std::this_thread::sleep_for(50ms);
    cancelled->store(true);
  });
  auto result = instance.func(store.context(), "forever")->call(store.context(), {});
  setter.join();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::kInterrupted) << result.error().describe();
}

constexpr std::string_view kGrow = R"((module
  (memory (export "memory") 1)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)))";

TEST(MemoryLimit, GrowingPastTheLimitIsItsOwnError) {
  auto engine = make_engine();
  Store store(*engine);
  store.set_memory_limit(3 * 65536);
  Instance instance = instantiate(*engine, store, kGrow);
  auto grow = instance.func(store.context(), "grow");

  std::vector<Value> one{int32_t{1}};
  auto within = grow->call(store.context(), one);
  ASSERT_TRUE(within.ok()) << within.error().describe();
  EXPECT_EQ(std::get<int32_t>((*within)[0]), 1);  // previous size in pages

  std::vector<Value> ten{int32_t{10}};
  auto beyond = grow->call(store.context(), ten);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().kind(), ErrorKind::kMemoryLimit) << beyond.error().describe();
  EXPECT_EQ(instance.memory(store.context(), "memory")->pages(store.context()), 2u);
}

TEST(MemoryLimit, InstantiatingAModuleThatNeedsMoreIsAMemoryLimitError) {
  auto engine = make_engine();
  Store store(*engine);
  store.set_memory_limit(2 * 65536);
  Linker linker(*engine);
  auto pre = linker.prepare(compile(*engine, "(module (memory 4))"));
  ASSERT_TRUE(pre.ok());
  auto instance = pre->instantiate(store);
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.error().kind(), ErrorKind::kMemoryLimit) << instance.error().describe();
}

TEST(MemoryLimit, WithoutALimitGrowthIsBoundOnlyByTheModule) {
  auto engine = make_engine();
  Store store(*engine);
  Instance instance = instantiate(*engine, store, kGrow);
  std::vector<Value> many{int32_t{100}};
  auto grown = instance.func(store.context(), "grow")->call(store.context(), many);
  ASSERT_TRUE(grown.ok());
  EXPECT_EQ(std::get<int32_t>((*grown)[0]), 1);
}

// Per-store state a host function reaches through the Caller.
struct RequestState {
  int calls = 0;
};

constexpr std::string_view kSumGuest = R"((module
  (import "host" "sum" (func $sum (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "\01\02\03\04\05")
  (func (export "run") (param i32) (result i32)
    i32.const 16 local.get 0 call $sum)))";

HostResult sum_bytes(Caller& caller, std::span<RawValue> slots) {
  auto memory = caller.memory();
  if (!memory) return HostTrap{"guest exports no memory"};
  const auto bytes = memory->data(caller.context());
  const uint64_t ptr = static_cast<uint32_t>(slots[0].i32);
  const uint64_t len = static_cast<uint32_t>(slots[1].i32);
  if (ptr + len > bytes.size()) return HostTrap{"sum: range outside guest memory"};
  int32_t total = 0;
  for (uint64_t i = 0; i < len; ++i)
    total += bytes[ptr + i];
  caller.data_as<RequestState>().calls++;
  slots[0] = RawValue::from_i32(total);
  return std::nullopt;
}

const FuncType kSumType{{ValType::kI32, ValType::kI32}, {ValType::kI32}};

TEST(HostFunction, RoundTripReadsGuestMemoryAndPerStoreState) {
  auto engine = make_engine();
  Linker linker(*engine);
  ASSERT_TRUE(linker.define("host", "sum", kSumType, sum_bytes).ok());
  auto pre = linker.prepare(compile(*engine, kSumGuest));
  ASSERT_TRUE(pre.ok()) << pre.error().describe();

  // Two stores from the same pre-instance: state does not leak between them.
  for (int round = 0; round < 2; ++round) {
    RequestState state;
    Store store(*engine, &state);
    auto instance = pre->instantiate(store);
    ASSERT_TRUE(instance.ok());
    RawValue slots[1] = {RawValue::from_i32(5)};
    auto result = instance->func(store.context(), "run")->call_raw(store.context(), slots);
    ASSERT_TRUE(result.ok()) << result.error().describe();
    EXPECT_EQ(slots[0].i32, 15);
    EXPECT_EQ(state.calls, 1);
  }
}

TEST(HostFunction, AHostTrapEndsTheCallWithItsMessageAndBacktrace) {
  auto engine = make_engine();
  Linker linker(*engine);
  ASSERT_TRUE(linker.define("host", "sum", kSumType, sum_bytes).ok());
  auto pre = linker.prepare(compile(*engine, kSumGuest));
  RequestState state;
  Store store(*engine, &state);
  auto instance = pre->instantiate(store);
  ASSERT_TRUE(instance.ok());
  std::vector<Value> huge{int32_t{1 << 20}};
  auto result = instance->func(store.context(), "run")->call(store.context(), huge);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::kTrap);
  EXPECT_NE(result.error().message().find("range outside guest memory"), std::string::npos)
      << result.error().describe();
  EXPECT_FALSE(result.error().backtrace().empty());
  EXPECT_EQ(state.calls, 0);
}

TEST(HostFunction, CapturingLambdaIsKeptAliveByTheLinker) {
  auto engine = make_engine();
  auto counter = std::make_shared<int>(0);
  {
    Linker linker(*engine);
    auto defined = linker.define("host", "sum", kSumType,
                                 [counter](Caller&, std::span<RawValue> slots) -> HostResult {
                                   ++*counter;
                                   slots[0] = RawValue::from_i32(slots[0].i32 + slots[1].i32);
                                   return std::nullopt;
                                 });
    ASSERT_TRUE(defined.ok());
    EXPECT_EQ(counter.use_count(), 2);
    auto pre = linker.prepare(compile(*engine, kSumGuest));
    Store store(*engine);
    auto instance = pre->instantiate(store);
    RawValue slots[1] = {RawValue::from_i32(3)};
    ASSERT_TRUE(instance->func(store.context(), "run")->call_raw(store.context(), slots).ok());
    EXPECT_EQ(slots[0].i32, 19);
    EXPECT_EQ(*counter, 1);
  }
  EXPECT_EQ(counter.use_count(), 1);  // the finalizer released the lambda
}

TEST(Link, MissingImportIsALinkErrorNamingIt) {
  auto engine = make_engine();
  Linker linker(*engine);
  auto pre = linker.prepare(compile(*engine, kSumGuest));
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.error().kind(), ErrorKind::kLink);
  EXPECT_NE(pre.error().message().find("host::sum"), std::string::npos) << pre.error().message();
}

TEST(Link, MistypedImportIsALinkError) {
  auto engine = make_engine();
  Linker linker(*engine);
  ASSERT_TRUE(linker.define("host", "sum", FuncType{{ValType::kI64}, {}}, sum_bytes).ok());
  auto pre = linker.prepare(compile(*engine, kSumGuest));
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.error().kind(), ErrorKind::kLink);
  EXPECT_NE(pre.error().message().find("sum"), std::string::npos) << pre.error().message();
}

TEST(Pooling, ManyMoreInstancesThanSlotsOverTimeReuseTheSlots) {
  auto engine = make_engine();  // 64 slots
  Linker linker(*engine);
  auto pre = linker.prepare(compile(*engine, kGrow));
  ASSERT_TRUE(pre.ok());
  for (int i = 0; i < 500; ++i) {
    Store store(*engine);
    auto instance = pre->instantiate(store);
    ASSERT_TRUE(instance.ok()) << "instance " << i << ": " << instance.error().describe();
    // Each instance starts from the module's initial memory, not the last one's.
    EXPECT_EQ(instance->memory(store.context(), "memory")->pages(store.context()), 1u);
    std::vector<Value> one{int32_t{1}};
    ASSERT_TRUE(instance->func(store.context(), "grow")->call(store.context(), one).ok());
  }
}

TEST(Pooling, ExhaustedPoolIsAnInstantiateErrorNotACrash) {
  auto engine = make_engine();  // 64 slots
  Linker linker(*engine);
  auto pre = linker.prepare(compile(*engine, kGrow));
  std::vector<std::unique_ptr<Store>> live;
  bool exhausted = false;
  for (int i = 0; i < 65 && !exhausted; ++i) {
    live.push_back(std::make_unique<Store>(*engine));
    auto instance = pre->instantiate(*live.back());
    if (!instance.ok()) {
      exhausted = true;
      EXPECT_EQ(instance.error().kind(), ErrorKind::kInstantiate) << instance.error().describe();
      EXPECT_EQ(i, 64);
    }
  }
  EXPECT_TRUE(exhausted);
}

}  // namespace
}  // namespace gyre::wasm

namespace gyre::wasm {
namespace {

// A re-export module hands every function a Linker defines to a store through one
// instantiation; the exports are those functions, each with its own type, found by handle.
TEST(ReexportModule, ExportsEachLinkerFunctionUnchangedAndByHandle) {
  auto engine = make_engine();
  Linker linker(*engine);
  const FuncType add_type{{ValType::kI32, ValType::kI32}, {ValType::kI32}};
  const FuncType widen_type{{ValType::kI32}, {ValType::kI64}};
  ASSERT_TRUE(linker
                  .define("host", "add", add_type,
                          [](Caller&, std::span<RawValue> slots) -> HostResult {
                            slots[0] = RawValue::from_i32(slots[0].i32 + slots[1].i32);
                            return std::nullopt;
                          })
                  .ok());
  ASSERT_TRUE(linker
                  .define("host", "widen", widen_type,
                          [](Caller&, std::span<RawValue> slots) -> HostResult {
                            slots[0] = RawValue::from_i64(int64_t{slots[0].i32} << 32);
                            return std::nullopt;
                          })
                  .ok());
  const std::vector<ReexportedFunc> funcs{{"add", add_type}, {"widen", widen_type}};
  auto module = engine->compile(reexport_module("host", funcs));
  ASSERT_TRUE(module.ok()) << module.error().describe();
  const auto exports = module->exports();
  ASSERT_EQ(exports.size(), 2u);
  EXPECT_EQ(exports[0].name, "add");
  EXPECT_EQ(exports[1].name, "widen");
  auto pre = linker.prepare(*module);
  ASSERT_TRUE(pre.ok()) << pre.error().describe();

  for (int store_number = 0; store_number < 2; ++store_number) {
    Store store(*engine);
    auto instance = pre->instantiate(store);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    auto handle = ExportHandle::find(store.context(), *instance, "widen");
    ASSERT_TRUE(handle);
    EXPECT_FALSE(ExportHandle::find(store.context(), *instance, "missing"));
    auto widen = instance->get(store.context(), handle);
    ASSERT_TRUE(widen && widen->kind == ExternKind::kFunc);
    RawValue slot[1] = {RawValue::from_i32(3)};
    ASSERT_TRUE(Func(widen->handle).call_raw(store.context(), slot).ok());
    EXPECT_EQ(slot[0].i64, int64_t{3} << 32);
    RawValue slots[2] = {RawValue::from_i32(40), RawValue::from_i32(2)};
    ASSERT_TRUE(instance->func(store.context(), "add")->call_raw(store.context(), slots).ok());
    EXPECT_EQ(slots[0].i32, 42);
  }
}

}  // namespace
}  // namespace gyre::wasm
