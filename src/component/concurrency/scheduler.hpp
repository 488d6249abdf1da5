// The one door into an instance's component-model async state from outside its guest.
//
// Tasks, subtasks, streams and futures of one instance are touched only on the thread
// that runs its guest, while the guest is inside a call (CanonicalABI.md's store runs
// one thread of a store at a time). Host code elsewhere — a response that arrived on the
// event loop, a worker that finished a query — posts its completion here; the guest's
// next wait runs it, and waiting is where the guest gives its thread back: on a fiber it
// suspends through the Suspender, with no fiber it sleeps until something is posted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/suspender.hpp"

namespace gyre::component {

class Scheduler {
 public:
  // The fiber the guest runs on, if any (null: waits sleep on the calling thread). Set
  // under the lock post() reads it under; read from the guest's own thread only.
  void set_suspender(Suspender* suspender);
  Suspender* suspender() const { return suspender_; }

  // Runs `work` on the guest's thread at its next wait. Any thread may call it, also
  // after the instance is gone (hold the scheduler by Concurrency::shared_scheduler):
  // the work is then dropped.
  void post(std::function<void()> work);
  // The instance is going: later posts are dropped, and what was posted is.
  void close();

  // Runs posted work until `ready()` holds. Traps (AbiTrap) when nothing could ever make
  // it hold — no work pending outside the guest (see hold) — naming `what` waits, and
  // when the fiber must stop (deadline, client gone).
  void wait_until(const std::function<bool()>& ready, const std::string& what);

  // Runs what has been posted so far, without waiting (thread.yield, callback YIELD).
  void run_posted();
  // What else the instance's guest can do while one of its tasks waits: another task's
  // turn (ComponentInstance::advance), true when it took one. Waits take turns before
  // they suspend, so that a guest waiting on another guest's task lets it run.
  void set_runner(std::function<bool()> runner) { runner_ = std::move(runner); }
  bool run_other() { return runner_ && runner_(); }
  // Waits once for something to be posted (suspending the fiber, or sleeping), without
  // running it. Traps as wait_until does when nothing is held.
  void wait_for_post(const std::string& what);

  // Work outside the guest that may still post: a host call that has not returned, a
  // stream the host will write from elsewhere. Counted, so that a wait nothing can end
  // traps instead of hanging.
  void hold() { ++holds_; }
  void release() { --holds_; }
  int holds() const { return holds_; }
  // A hold for as long as this object lives; it may end on any thread (a host that lets
  // go of a call it never finished).
  class Hold {
   public:
    explicit Hold(std::shared_ptr<Scheduler> scheduler) : scheduler_(std::move(scheduler)) {
      scheduler_->hold();
    }
    ~Hold() { scheduler_->release(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    std::shared_ptr<Scheduler> scheduler_;
  };

 private:
  bool take(std::vector<std::function<void()>>& out);

  Suspender* suspender_ = nullptr;
  std::function<bool()> runner_;
  std::atomic<int> holds_ = 0;
  std::mutex mutex_;
  bool closed_ = false;
  std::condition_variable posted_;
  std::vector<std::function<void()>> mailbox_;
};

}  // namespace gyre::component
