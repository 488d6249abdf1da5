#include "wasm/store.hpp"

#include <string>

#include "wasm/engine.hpp"
#include "wasm/error.hpp"
#include "wasm/wasmtime_glue.hpp"

// Defined by Gyre's engine crate (deps/wasmtime-capi), which adds what the C API lacks.
extern "C" void gyre_context_set_memory_limit(wasmtime_context_t* context, uint64_t bytes);

namespace gyre::wasm {

struct Store::Stop {
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::time_point::max();
  std::shared_ptr<const std::atomic<bool>> cancelled;
  bool yield = false;  // on a fiber: yield at the second tick of one run
  // A tick has passed since the guest last went on. Yielding at the first tick would stop
  // a quick guest whenever a tick happens to fall into its run, sending it behind
  // everything the lane has queued; the second tick means it computed a whole interval.
  bool ticked = false;
};

namespace {

// "No deadline": far enough that the epoch never reaches it, small enough that
// Wasmtime's current-epoch + delta cannot overflow.
constexpr uint64_t kNoDeadline = UINT64_MAX / 2;

// Runs on the guest's thread each time its epoch deadline (one tick ahead) passes.
wasmtime_error_t* check_stop(wasmtime_context_t*, void* data, uint64_t* delta,
                             wasmtime_update_deadline_kind_t* kind) {
  auto* stop = static_cast<Store::Stop*>(data);
  if (stop->cancelled && stop->cancelled->load(std::memory_order_relaxed)) {
    return wasmtime_error_new(std::string(kInterruptedText).c_str());
  }
  if (std::chrono::steady_clock::now() >= stop->at) {
    return wasmtime_error_new(std::string(kDeadlineText).c_str());
  }
  *delta = 1;
  const bool yield = stop->yield && stop->ticked;
  stop->ticked = stop->yield && !yield;
  *kind = yield ? WASMTIME_UPDATE_DEADLINE_YIELD : WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return nullptr;
}

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

Store::Stop& Store::stop_state() {
  if (!stop_) {
    stop_ = std::make_unique<Stop>();
    wasmtime_store_epoch_deadline_callback(store_, check_stop, stop_.get(), nullptr);
    wasmtime_context_set_epoch_deadline(context_, 1);
  }
  return *stop_;
}

void Store::stop_when(StopWhen stop) {
  if (!engine_.config().epoch_interruption || (!stop.deadline && !stop.cancelled)) return;
  Stop& state = stop_state();
  if (stop.deadline) state.at = std::chrono::steady_clock::now() + *stop.deadline;
  state.cancelled = std::move(stop.cancelled);
}

void Store::set_fiber_active(bool active) {
  if (!engine_.config().epoch_interruption) return;
  if (!active && !stop_) return;
  stop_state().yield = active;
}

void Store::note_resumed() {
  if (stop_) stop_->ticked = false;
}

void Store::set_memory_limit(uint64_t bytes) {
  memory_limit_ = bytes;
  // The C API installs the limiter; Gyre's entry point makes a refusal a trap.
  wasmtime_store_limiter(store_, static_cast<int64_t>(bytes), -1, -1, -1, -1);
  gyre_context_set_memory_limit(context_, bytes);
}

}  // namespace gyre::wasm
