// What one request costs before any host API runs: instantiate a component from its
// pre-instance in a fresh Store, call an export, drop everything.
//
//   build/bench/instantiate_bench --benchmark_repetitions=10 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "component/instance.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace {

using namespace gyre;

std::vector<uint8_t> fixture(const char* name) {
  std::ifstream in(std::string(GYRE_FIXTURE_DIR) + "/" + name + ".wasm", std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

wasm::Engine& engine() {
  static auto instance = [] {
    wasm::EngineConfig config;
    config.cache_dir = GYRE_BENCH_COMPILE_CACHE;
    if (const char* keep = std::getenv("GYRE_KEEP_RESIDENT"))
      config.pool_keep_resident_bytes = std::stoull(keep);
    if (const char* batch = std::getenv("GYRE_DECOMMIT_BATCH"))
      config.pool_decommit_batch = std::stoul(batch);
    return std::move(wasm::Engine::create(config)).value();
  }();
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

// The Spin JS SDK fixture (12 MB, StarlingMonkey): instantiate + drop. Copy-on-write
// memory images make this a mapping, not a copy of the heap snapshot.
void BM_JsInstantiateDrop(benchmark::State& state) {
  component::LinkOptions options;
  options.trap_on_missing_imports = true;
  component::HostImports none;
  auto pre =
      std::move(component::ComponentPre::create(engine(), fixture("js-hello"), none, options))
          .value();
  for (auto _ : state) {
    wasm::Store store(engine());
    auto instance = pre->instantiate(store);
    benchmark::DoNotOptimize(instance);
    if (!instance.ok()) state.SkipWithError(instance.error().describe().c_str());
  }
}
BENCHMARK(BM_JsInstantiateDrop)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
