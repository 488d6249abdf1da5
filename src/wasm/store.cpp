#include "wasm/store.hpp"

#include "wasm/engine.hpp"
#include "wasm/wasmtime_glue.hpp"

// Defined by Gyre's engine crate (deps/wasmtime-capi), which adds what the C API lacks.
extern "C" void gyre_context_set_memory_limit(wasmtime_context_t* context, uint64_t bytes);

namespace gyre::wasm {
namespace {

// "No deadline": far enough that the epoch never reaches it, small enough that
// Wasmtime's current-epoch + delta cannot overflow.
constexpr uint64_t kNoDeadline = UINT64_MAX / 2;

}  // namespace

Store::Store(Engine& engine, void* data)
    : engine_(engine),
      store_(wasmtime_store_new(engine.raw(), nullptr, nullptr)),
      context_(wasmtime_store_context(store_)),
      data_(data) {
  wasmtime_context_set_data(context_, data);
  // With epoch interruption on, a store starts with a deadline of "now"; lift it.
  if (engine_.config().epoch_interruption)
    wasmtime_context_set_epoch_deadline(context_, kNoDeadline);
}

Store::~Store() {
  wasmtime_store_delete(store_);
}

void Store::set_data(void* data) {
  data_ = data;
  wasmtime_context_set_data(context_, data);
}

void Store::set_deadline(std::chrono::nanoseconds from_now) {
  if (!engine_.config().epoch_interruption) return;
  wasmtime_context_set_epoch_deadline(context_, engine_.ticks_for(from_now));
}

void Store::clear_deadline() {
  if (engine_.config().epoch_interruption)
    wasmtime_context_set_epoch_deadline(context_, kNoDeadline);
}

void Store::set_memory_limit(uint64_t bytes) {
  memory_limit_ = bytes;
  // The C API installs the limiter; Gyre's entry point makes a refusal a trap.
  wasmtime_store_limiter(store_, static_cast<int64_t>(bytes), -1, -1, -1, -1);
  gyre_context_set_memory_limit(context_, bytes);
}

}  // namespace gyre::wasm
