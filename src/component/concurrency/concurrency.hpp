// The Component Model's concurrency (CanonicalABI.md and Concurrency.md, the 🔀 parts):
// read this header first.
//
// One ComponentInstance has one Concurrency. Its pieces:
//
//   scheduler.hpp  the door from outside: host completions are posted to it and run at
//                  the guest's next wait; waits suspend the guest's fiber.
//   task.hpp       Task: a call into the guest (its result by task.return, its context
//                  slots); Subtask: an async-lowered call out that is still running;
//                  PendingCall: the host's side of such a call.
//   waitable.hpp   waitables (subtasks, stream and future ends) and waitable sets, and
//                  the events a guest waits for.
//   channel.hpp    streams and futures: a rendezvous of a writer's buffer and a
//                  reader's, with ends held by guests (CopyEnd) or the host (HostEnd).
//
// The built-ins that guests call (stream.read, waitable-set.wait, task.return, ...) are
// in component/async_builtins.cpp; the callback loop of async lifts is in
// component/instance.cpp, where calls into the guest are made.
//
// Everything here is single-threaded: it runs on the thread running the guest, inside a
// call into it. Tasks of functions lifted async with a callback run several at once in
// one instance (ComponentInstance::start and drive, component/async_tasks.cpp), each
// between two calls of its callback. Whenever a task waits, the others whose component
// instance is not on the stack take their turns first (Scheduler::set_runner): so one
// guest's async-lowered call of another's callback-lifted function gives it a subtask
// that resolves later, and a stream between two guests moves as each takes its turn. A
// function lifted sync or stackful async runs until it exits, one at a time: a second
// call into it while it runs traps, and an async-lowered call of it returns only when
// it has (Gyre runs one stack per store; toolchains lift async exports with a callback).
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "component/concurrency/channel.hpp"
#include "component/concurrency/scheduler.hpp"
#include "component/concurrency/task.hpp"
#include "component/concurrency/waitable.hpp"

namespace gyre::component {

class Concurrency {
 public:
  Concurrency() : scheduler(*scheduler_) {}
  ~Concurrency() { scheduler_->close(); }
  Concurrency(const Concurrency&) = delete;
  Concurrency& operator=(const Concurrency&) = delete;

  // The scheduler, and a reference to it that host code on other threads may keep past
  // the instance (posting to it then does nothing).
  std::shared_ptr<Scheduler> shared_scheduler() const { return scheduler_; }

 private:
  std::shared_ptr<Scheduler> scheduler_ = std::make_shared<Scheduler>();

 public:
  Scheduler& scheduler;
  // The tasks running, innermost last (a guest calling the host calling a guest).
  std::vector<TaskState*> tasks;
  uint32_t backpressure = 0;

  TaskState& current_task() { return *tasks.back(); }

  // A stream or future (of `type`, which must outlive it) for the host to write: the Val
  // that gives a guest its readable end, and the host's writable end.
  std::pair<Val, std::unique_ptr<HostEnd>> open(const ValueType& type) {
    auto shared = std::make_shared<SharedChannel>(&type);
    Val readable;
    readable.kind = type.kind;
    readable.bits = park(std::make_unique<HostEnd>(shared, true));
    return {std::move(readable), std::make_unique<HostEnd>(std::move(shared), false)};
  }
  // The end a stream or future Val from a guest carries, for the host to read (null if
  // it was taken already).
  std::unique_ptr<HostEnd> take(const Val& value) { return unpark(value.bits); }

  // Stream and future ends the host made or received, parked while they travel as a
  // Val (whose `bits` is the key) until a guest or host code takes them.
  uint64_t park(std::unique_ptr<HostEnd> end) {
    parked_.emplace(next_parked_, std::move(end));
    return next_parked_++;
  }
  std::unique_ptr<HostEnd> unpark(uint64_t key) {
    auto it = parked_.find(key);
    if (it == parked_.end()) return nullptr;
    std::unique_ptr<HostEnd> end = std::move(it->second);
    parked_.erase(it);
    return end;
  }

 private:
  std::unordered_map<uint64_t, std::unique_ptr<HostEnd>> parked_;
  uint64_t next_parked_ = 1;  // 0: a Val holding its values itself (Val::stream)
};

}  // namespace gyre::component
