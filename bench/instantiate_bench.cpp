// What one request costs before any host API runs: instantiate a component from its
// pre-instance in a fresh Store, call an export, drop everything.
//
//   build/bench/instantiate_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "component/instance.hpp"
#include "http/incoming.hpp"
#include "http/wasi_types.hpp"
#include "wasi/wasi.hpp"
#include "wasm/engine.hpp"
#include "wasm/fiber.hpp"
#include "wasm/store.hpp"

namespace {

using namespace gyre;

std::vector<uint8_t> fixture(const char* name) {
  std::ifstream in(std::string(GYRE_FIXTURE_DIR) + "/" + name + ".wasm", std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

wasm::EngineConfig engine_config() {
  wasm::EngineConfig config;
  config.cache_dir = GYRE_BENCH_COMPILE_CACHE;
  if (const char* keep = std::getenv("GYRE_KEEP_RESIDENT"))
    config.pool_keep_resident_bytes = std::stoull(keep);
  if (const char* batch = std::getenv("GYRE_DECOMMIT_BATCH"))
    config.pool_decommit_batch = std::stoul(batch);
  if (const char* stacks = std::getenv("GYRE_POOL_STACKS")) config.pool_stacks = std::stoul(stacks);
  return config;
}

wasm::Engine& engine() {
  static auto instance = std::move(wasm::Engine::create(engine_config())).value();
  return *instance;
}

component::HostImports& host() {
  static component::HostImports imports = [] {
    component::HostImports h;
    h.interface("gyre:fixtures/host").functions["log"] =
        [](component::HostCall&,
           std::span<const component::Val>) -> Result<std::optional<component::Val>, std::string> {
      return std::optional<component::Val>{};
    };
    return h;
  }();
  return imports;
}

// C fixture: instantiate + greet(string) -> string + drop.
void BM_CInstantiateCallDrop(benchmark::State& state) {
  auto pre =
      std::move(component::ComponentPre::create(engine(), fixture("c-hello"), host())).value();
  const std::vector<component::Val> args{component::Val::string("benchmark")};
  for (auto _ : state) {
    wasm::Store store(engine());
    auto instance = std::move(pre->instantiate(store)).value();
    auto result = instance->call(*instance->function("greet"), args);
    benchmark::DoNotOptimize(result);
    if (!result.ok()) state.SkipWithError(result.error().describe().c_str());
  }
}
BENCHMARK(BM_CInstantiateCallDrop)->Unit(benchmark::kMicrosecond);

// The fixture `name` linked to `imports` (which must outlive it); what they lack traps
// when called.
std::shared_ptr<const component::ComponentPre> prepare(const char* name,
                                                       const component::HostImports& imports,
                                                       wasm::Engine& in = engine()) {
  component::LinkOptions options;
  options.trap_on_missing_imports = true;
  return std::move(component::ComponentPre::create(in, fixture(name), imports, options)).value();
}

// Per iteration: a fresh Store, an instance of `pre` (prepared in `in`), and the drop of
// both.
void instantiate_and_drop(benchmark::State& state, const component::ComponentPre& pre,
                          wasm::Engine& in = engine()) {
  for (auto _ : state) {
    wasm::Store store(in);
    auto instance = pre.instantiate(store);
    benchmark::DoNotOptimize(instance);
    if (!instance.ok()) state.SkipWithError(instance.error().describe().c_str());
  }
}

// What the C wasi:http hello imports: WASI (its output dropped) and wasi:http's types.
component::HostImports c_http_imports() {
  component::HostImports imports;
  wasi::CliConfig cli;
  cli.stdout_sink = [](std::string_view) {};
  cli.stderr_sink = [](std::string_view) {};
  wasi::add_wasi(imports, std::move(cli));
  http::add_wasi_http_types(imports);
  return imports;
}

// The Spin JS SDK fixture (12 MB, StarlingMonkey): instantiate + drop. Copy-on-write
// memory images make this a mapping, not a copy of the heap snapshot.
void BM_JsInstantiateDrop(benchmark::State& state) {
  const component::HostImports none;
  instantiate_and_drop(state, *prepare("js-hello", none));
}
BENCHMARK(BM_JsInstantiateDrop)->Unit(benchmark::kMicrosecond);

// The instantiation part of BM_CHttpHandle: a fresh Store, the component's core instances
// (main, shim, fixup and its start function) and the drop, without the request.
void BM_CHttpInstantiateDrop(benchmark::State& state) {
  const component::HostImports imports = c_http_imports();
  instantiate_and_drop(state, *prepare("c-http", imports));
}
BENCHMARK(BM_CHttpInstantiateDrop)->Unit(benchmark::kMicrosecond);

// A benchmark run on one thread and on two, timed by the wall clock, with the process's
// CPU time per iteration beside it (what two threads cost each other shows there).
void on_one_and_two_threads(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)->Threads(1)->Threads(2)->MeasureProcessCPUTime()->UseRealTime();
}

// BM_CHttpInstantiateDrop on one and on two threads. Shared: one engine and pre-instance
// for both, so what they share (the engine's instance pools, module code and reference
// counts) moves cache lines between the cores. PerThreadEngine: an engine and a
// pre-instance per thread, as `gyre up` has one engine per network lane. Compare the
// process CPU time per instantiation, and items_per_second.
void BM_CHttpInstantiateDropShared(benchmark::State& state) {
  static const component::HostImports imports = c_http_imports();
  static const auto pre = prepare("c-http", imports);
  instantiate_and_drop(state, *pre);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CHttpInstantiateDropShared)->Apply(on_one_and_two_threads);

void BM_CHttpInstantiateDropPerThreadEngine(benchmark::State& state) {
  auto own = std::move(wasm::Engine::create(engine_config())).value();
  const component::HostImports imports = c_http_imports();
  instantiate_and_drop(state, *prepare("c-http", imports, *own), *own);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CHttpInstantiateDropPerThreadEngine)->Apply(on_one_and_two_threads);

// What `gyre up` does per request for the C wasi:http hello (bench/apps/c-hello) minus the
// network: a fresh instance with WASI and wasi:http, handle() with a request carrying
// Spin's headers, the response collected in memory. On one thread and on two, each with
// its own engine as each lane of `gyre up` has.
struct CollectingSink final : http::ResponseSink {
  void head(uint16_t, http::Headers) override {}
  void body(std::string_view chunk) override { bytes += chunk.size(); }
  void finish() override {}
  void fail(const std::string& why) override { failure = why; }
  size_t bytes = 0;
  std::string failure;
};

http::IncomingRequestData hello_request() {
  http::IncomingRequestData request;
  request.path_with_query = "/";
  request.scheme = "http";
  request.authority = "127.0.0.1:3000";
  request.headers = {{"host", "127.0.0.1:3000"},
                     {"user-agent", "wrk"},
                     {"spin-full-url", "http://127.0.0.1:3000/"},
                     {"spin-path-info", ""},
                     {"spin-matched-route", "/..."},
                     {"spin-component-route", ""},
                     {"spin-raw-component-route", "/..."},
                     {"spin-base-path", "/"},
                     {"spin-client-addr", "127.0.0.1:40000"}};
  return request;
}

void BM_CHttpHandle(benchmark::State& state) {
  auto own = std::move(wasm::Engine::create(engine_config())).value();
  const component::HostImports imports = c_http_imports();
  auto handler = std::move(http::IncomingHandler::create(prepare("c-http", imports, *own))).value();
  for (auto _ : state) {
    CollectingSink sink;
    auto handled = handler.handle(*own, hello_request(), sink);
    if (!handled.ok() || sink.bytes == 0) state.SkipWithError("the request failed");
  }
}
BENCHMARK(BM_CHttpHandle)->Apply(on_one_and_two_threads);

// The same with the call on a Wasmtime fiber, as `gyre up` runs it (never suspending: the
// hello answers at once): what the fiber itself costs per request.
void BM_CHttpHandleOnFiber(benchmark::State& state) {
  auto own = std::move(wasm::Engine::create(engine_config())).value();
  const component::HostImports imports = c_http_imports();
  auto handler = std::move(http::IncomingHandler::create(prepare("c-http", imports, *own))).value();
  for (auto _ : state) {
    CollectingSink sink;
    auto call = std::move(handler.instantiate(*own, hello_request(), sink)).value();
    Result<void, wasm::Error> handled;
    {
      wasm::Fiber fiber(call->store(), [&] { handled = call->call(nullptr); });
      while (!fiber.resume()) {
      }
    }
    if (!handled.ok() || sink.bytes == 0) state.SkipWithError("the request failed");
  }
}
BENCHMARK(BM_CHttpHandleOnFiber)->Apply(on_one_and_two_threads);

}  // namespace

// One host call through `canon lower` against the same through `canon lower async` (which
// returns RETURNED at once and leaves the result in guest memory), and a stream of u32 the
// guest reads 64 at a time: bench/components/async_calls.wat, 1000 calls or numbers per
// export call, on one instance.
struct AsyncCalls {
  // The component keeps pointers into its host imports: they live as long as it does.
  std::unique_ptr<component::HostImports> host;
  std::shared_ptr<const component::ComponentPre> pre;
  static AsyncCalls& get() {
    static AsyncCalls calls = [] {
      auto host = std::make_unique<component::HostImports>();
      auto& iface = host->interface("gyre:bench/host").functions;
      iface["next"] = [](component::HostCall&, std::span<const component::Val> args)
          -> Result<std::optional<component::Val>, std::string> {
        return std::optional(component::Val::u32(static_cast<uint32_t>(args[0].bits) + 1));
      };
      iface["numbers"] = [](component::HostCall&, std::span<const component::Val> args)
          -> Result<std::optional<component::Val>, std::string> {
        std::vector<component::Val> values(args[0].bits, component::Val::u32(1));
        return std::optional(component::Val::stream(std::move(values)));
      };
      std::ifstream in(std::string(GYRE_BENCH_COMPONENT_DIR) + "/async_calls.wasm",
                       std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      auto pre = std::move(component::ComponentPre::create(engine(), bytes, *host)).value();
      return AsyncCalls{std::move(host), std::move(pre)};
    }();
    return calls;
  }
};

void run_async_calls(benchmark::State& state, const char* name) {
  wasm::Store store(engine());
  auto instance = std::move(AsyncCalls::get().pre->instantiate(store)).value();
  const component::ComponentFunction& function = *instance->function(name);
  const std::vector<component::Val> args{component::Val::u32(1000)};
  for (auto _ : state) {
    auto result = instance->call(function, args);
    if (!result) state.SkipWithError(result.error().describe().c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}

void BM_HostCallLoweredSync(benchmark::State& state) {
  run_async_calls(state, "sync-calls");
}
BENCHMARK(BM_HostCallLoweredSync)->Unit(benchmark::kMicrosecond);

void BM_HostCallLoweredAsync(benchmark::State& state) {
  run_async_calls(state, "async-calls");
}
BENCHMARK(BM_HostCallLoweredAsync)->Unit(benchmark::kMicrosecond);

void BM_HostStreamRead(benchmark::State& state) {
  run_async_calls(state, "stream-sum");
}
BENCHMARK(BM_HostStreamRead)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
