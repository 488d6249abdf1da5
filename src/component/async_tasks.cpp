// Tasks of functions lifted async with a callback (CanonicalABI.md's canon_lift with a
// callback): several at once in one instance, each between two calls of its callback
// waiting on a waitable set of its own or yielding, and driven one at a time as events
// arrive — the callback loop of a single call, turned inside out.
#include "component/instance_parts.hpp"

namespace gyre::component {

namespace {

enum : uint32_t { kExit = 0, kYield = 1, kWait = 2 };

}  // namespace

void ComponentInstance::fail_tasks(const wasm::Error& error) {
  std::vector<std::unique_ptr<AsyncTask>> failed;
  failed.swap(tasks_);
  for (auto& t : tasks_to_start_)
    failed.push_back(std::move(t));
  tasks_to_start_.clear();
  for (auto& t : failed) {
    t->stop_waiting();
    if (t->on_exit) t->on_exit(error);
  }
}

Result<uint64_t, wasm::Error> ComponentInstance::start(const ComponentFunction& fn,
                                                       std::span<const Val> args,
                                                       OnReturn on_return, OnExit on_exit) {
  if (poisoned_) return poisoned_error();
  if (!fn.core || !fn.callback) {
    return wasm::Error(wasm::ErrorKind::kUsage,
                       "start() runs functions lifted async with a callback; call() the others");
  }
  uint64_t id = 0;
  auto started =
      guarded([&] { id = start_task(fn, args, std::move(on_return), std::move(on_exit)); });
  if (!started) return std::move(started).error();
  return id;
}

uint64_t ComponentInstance::start_task(const ComponentFunction& fn, std::span<const Val> args,
                                       OnReturn on_return, OnExit on_exit) {
  auto task = std::make_unique<AsyncTask>();
  const uint64_t id = task->id = next_task_id_++;
  task->fn = &fn;
  task->state.type = fn.type.get();
  task->state.async = true;
  task->state.encoding = fn.encoding;
  task->state.on_return = std::move(on_return);
  task->on_exit = std::move(on_exit);
  // CanonicalABI.md's enter_implicit_thread: a task waits to start while the guest
  // applies backpressure, or while its code is on the stack (a host call of it).
  if (concurrency_->backpressure > 0 || !fn.frame->may_enter || !tasks_to_start_.empty()) {
    task->args.assign(args.begin(), args.end());
    tasks_to_start_.push_back(std::move(task));
  } else {
    begin(std::move(task), args);
  }
  return id;
}

AsyncTask* ComponentInstance::find_task(uint64_t id) {
  for (auto* list : {&tasks_, &tasks_to_start_}) {
    for (auto& t : *list) {
      if (t->id == id) return t.get();
    }
  }
  return nullptr;
}

void ComponentInstance::cancel(uint64_t id) {
  auto has_id = [&](const auto& t) { return t->id == id; };
  auto queued = std::find_if(tasks_to_start_.begin(), tasks_to_start_.end(), has_id);
  if (queued != tasks_to_start_.end()) {
    std::unique_ptr<AsyncTask> task = std::move(*queued);
    tasks_to_start_.erase(queued);
    if (task->on_exit) task->on_exit(std::nullopt);
    return;
  }
  auto running = std::find_if(tasks_.begin(), tasks_.end(), has_id);
  if (running != tasks_.end() && !(*running)->state.returned) (*running)->cancel_requested = true;
}

void ComponentInstance::begin(std::unique_ptr<AsyncTask> owned, std::span<const Val> args) {
  AsyncTask& task = *owned;
  tasks_.push_back(std::move(owned));  // first: a trap in its first call reaches on_exit
  const ComponentFunction& fn = *task.fn;
  Frame& frame = *fn.frame;
  CanonContext cx{store_,         fn.encoding,     fn.memory,         fn.realloc,
                  &frame.handles, frame.component, concurrency_.get()};
  std::vector<wasm::RawValue> slots;
  lower_params(cx, args, *fn.type, *fn.sig, slots);
  slots.resize(std::max<size_t>(slots.size(), 1));
  task.args.clear();
  run_core(task, false, slots);
}

void ComponentInstance::run_core(AsyncTask& task, bool callback, std::span<wasm::RawValue> slots) {
  const ComponentFunction& fn = *task.fn;
  Frame& frame = *fn.frame;
  concurrency_->tasks.push_back(&task.state);
  frame.may_enter = false;
  task.running = true;
  auto called = (callback ? *fn.callback : *fn.core).call_raw(store_, slots);
  task.running = false;
  frame.may_enter = true;
  concurrency_->tasks.pop_back();
  if (!called) throw GuestError{std::move(called).error()};

  const auto packed = static_cast<uint32_t>(slots[0].i32);
  task.code = packed & 0xf;
  if (task.code == kWait) {
    HandleEntry* entry = frame.handles.get(packed >> 4);
    if (entry == nullptr || entry->kind != HandleKind::kWaitableSet)
      fail("the callback asked to wait on " + std::to_string(packed >> 4) + ", not a waitable set");
    task.waits = static_cast<WaitableSet*>(entry->object.get());
    ++task.waits->waiting;
  } else if (task.code != kYield && task.code != kExit) {
    fail("the callback returned the invalid code " + std::to_string(task.code));
  }
  if (task.code != kExit) return;

  if (!task.state.returned) fail("the task's function exited without calling task.return");
  auto it =
      std::find_if(tasks_.begin(), tasks_.end(), [&](const auto& t) { return t.get() == &task; });
  std::unique_ptr<AsyncTask> done = std::move(*it);
  tasks_.erase(it);
  if (done->on_exit) done->on_exit(std::nullopt);
}

// Calls the callback of one task that can go on: one yielding, or one whose set has an
// event. False when none can.
bool ComponentInstance::step() {
  for (size_t i = 0; i < tasks_.size(); ++i) {
    AsyncTask& task = *tasks_[(next_task_ + i) % tasks_.size()];
    // Not while its own code, or other code of its component instance, is on the stack
    // (a host call of it that waits lets other instances' tasks run, not its own).
    if (task.running || !task.fn->frame->may_enter) continue;
    Event event;
    if (task.cancel_requested) {
      task.cancel_requested = false;
      task.state.cancel_delivered = true;
      event.code = EventCode::kTaskCancelled;
      task.stop_waiting();
    } else if (task.code == kWait) {
      if (!task.waits->has_pending_event()) continue;
      event = task.waits->take_pending_event();
      task.stop_waiting();
    } else if (task.code != kYield) {
      continue;
    }
    next_task_ = (next_task_ + i + 1) % tasks_.size();
    wasm::RawValue args[3] = {wasm::RawValue::from_i32(static_cast<int32_t>(event.code)),
                              wasm::RawValue::from_i32(static_cast<int32_t>(event.index)),
                              wasm::RawValue::from_i32(static_cast<int32_t>(event.payload))};
    run_core(task, true, args);
    return true;
  }
  return false;
}

bool ComponentInstance::advance() {
  if (!tasks_to_start_.empty() && concurrency_->backpressure == 0 &&
      tasks_to_start_.front()->fn->frame->may_enter) {
    std::unique_ptr<AsyncTask> next = std::move(tasks_to_start_.front());
    tasks_to_start_.erase(tasks_to_start_.begin());
    const std::vector<Val>& args = next->args;  // the task object stays where it is
    begin(std::move(next), args);
    return true;
  }
  return step();
}

void ComponentInstance::drive_tasks(const std::function<bool()>& done) {
  while (!done()) {
    concurrency_->scheduler.run_posted();
    if (advance() || done()) continue;
    concurrency_->scheduler.wait_for_post("the instance's " + std::to_string(tasks_.size()) +
                                          " tasks");
  }
}

Result<void, wasm::Error> ComponentInstance::drive(const std::function<bool()>& done) {
  if (poisoned_) return poisoned_error();
  return guarded([&] { drive_tasks(done); });
}

}  // namespace gyre::component
