// Tasks and subtasks (CanonicalABI.md, "Task State", "Subtask State").
//
// A Task is one call into a guest's export. A synchronous lift returns its result; an
// async lift hands it over with task.return, possibly long before its core function is
// done (a response whose body the guest keeps writing). A Subtask is the guest's side of
// an async-lowered call that did not finish at once: the guest holds it as a waitable
// and learns by an event when it returned. A PendingCall is the host's side of that call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "component/concurrency/waitable.hpp"
#include "component/types.hpp"
#include "component/value.hpp"

namespace gyre::component {

struct TaskState {
  // The lift's function type and options, which task.return must match.
  const FunctionType* type = nullptr;
  bool async = false;
  StringEncoding encoding = StringEncoding::kUtf8;
  uint32_t context[2] = {};  // context.get / context.set
  bool returned = false;     // task.return or task.cancel ran (or the sync lift returned)
  // The host asked to cancel the task and the guest was told (TASK_CANCELLED): it may
  // now end with task.cancel instead of a result.
  bool cancel_delivered = false;
  std::optional<Val> result;
  // Called by task.return with the result, while the guest goes on running.
  std::function<void(const std::optional<Val>&)> on_return;
  // Called by task.cancel: the task ended without a result.
  std::function<void()> on_cancel;
};

class Subtask final : public Waitable {
 public:
  enum State : uint32_t {
    kStarting = 0,
    kStarted = 1,
    kReturned = 2,
    kCancelledBeforeStarted = 3,
    kCancelledBeforeReturned = 4,
  };
  State state = kStarted;
  bool cancellation_requested = false;
  bool resolve_delivered = false;
  bool resolved() const { return state >= kReturned; }
  // Asks the host to cancel the call (it resolves it, as cancelled or not, when it can).
  std::function<void()> request_cancel;
};

// The host's side of a call it finishes later (HostCall::defer). Resolve it exactly once,
// on the guest's thread: from elsewhere, through the instance's Scheduler::post.
class PendingCall {
 public:
  // Ends the call with its result (nothing for a function without one).
  void resolve(std::optional<Val> result) {
    finish(Outcome{Outcome::kReturned, std::move(result)});
  }
  // Ends the call without a result, after the guest asked to cancel it.
  void resolve_cancelled() { finish(Outcome{Outcome::kCancelled, std::nullopt}); }
  // Ends the call with an error, which traps the guest as a failed sync call would.
  void fail(std::string message) {
    finish(Outcome{Outcome::kFailed, std::nullopt, std::move(message)});
  }

  // What the host does when the guest cancels the call (subtask.cancel). By default the
  // host resolves it as cancelled at once.
  void on_cancel(std::function<void()> cancel) { on_cancel_ = std::move(cancel); }
  bool cancel_requested() const { return cancel_requested_; }
  bool finished() const { return finished_; }

  struct Outcome {
    enum Kind { kReturned, kCancelled, kFailed } kind;
    std::optional<Val> result;
    std::string error;
  };
  // Where the outcome goes, set by the lowering that deferred the call. An outcome that
  // came first (the host resolved before returning) is delivered at once.
  void set_deliver(std::function<void(Outcome)> deliver) {
    deliver_ = std::move(deliver);
    if (early_) {
      Outcome outcome = std::move(*early_);
      early_.reset();
      deliver_(std::move(outcome));
    }
  }
  void request_cancel() {
    cancel_requested_ = true;
    if (on_cancel_) return on_cancel_();
    resolve_cancelled();
  }

 private:
  void finish(Outcome outcome) {
    if (finished_) return;
    finished_ = true;
    if (deliver_) return deliver_(std::move(outcome));
    early_ = std::move(outcome);
  }
  std::function<void(Outcome)> deliver_;
  std::optional<Outcome> early_;
  std::function<void()> on_cancel_;
  bool cancel_requested_ = false;
  bool finished_ = false;
};

}  // namespace gyre::component
