// A guest's call run on a fiber by an event loop: the executor of the server lane that read
// the request. The guest runs until it finishes or waits; while it waits (a response, a
// body chunk, a timer) the lane serves others, and the task resumes it, on the same loop,
// once what it waits for wakes it. A guest that computes through a whole epoch tick
// interval yields at the next tick and is queued behind the lane's other work, so it
// cannot starve them.
//
// A waiting guest is stopped (its suspension ends in false, and its host call traps) once
// its deadline passes or its request's cancel flag is set; a computing one is stopped by
// its store's epoch checks as before.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "base/suspender.hpp"
#include "base/worker_pool.hpp"
#include "trigger/lane_gate.hpp"
#include "wasm/fiber.hpp"
#include "wasm/store.hpp"

namespace gyre::trigger {

class FiberTask final : public Suspender, public std::enable_shared_from_this<FiberTask> {
 public:
  struct Limits {
    std::optional<Clock::time_point> deadline;
    std::shared_ptr<const std::atomic<bool>> cancelled;
  };

  // Where offload() runs blocking work: set once, by the owner of the pool. The lane's
  // gate, if any, is told whenever the task becomes runnable or stops being runnable.
  struct Services {
    boost::asio::any_io_executor executor;
    WorkerPool* workers = nullptr;
    LaneGate* gate = nullptr;
  };

  // Runs `body` on a fiber of `store`, driven by `executor`; `done` runs on the loop once
  // the body has returned. `owner` (holding the store, and whatever the body uses) is kept
  // until then and released after the fiber.
  static void start(Services services, wasm::Store& store, std::shared_ptr<void> owner,
                    std::function<void(Suspender&)> body,
                    std::function<void(const std::optional<wasm::Error>&)> done, Limits limits);

  Wake waker() override;
  bool suspend(std::optional<Clock::time_point> until) override;
  bool suspend_on_sockets(std::span<const SocketInterest> sockets,
                          std::optional<Clock::time_point> until) override;
  void offload(const std::function<void()>& work) override;

 private:
  FiberTask(Services services, Limits limits);
  // Asks for a turn on the loop (from any thread): the fiber then resumes if it is parked
  // or yielded. Turns never overlap, even when several threads run the lane's loop.
  void schedule();
  void turn();    // one or more resumptions, until nobody asked for another
  void resume();  // inside a turn
  bool must_stop() const;
  // Counting in the gate: runnable from the moment a turn is queued until the guest waits
  // or ends; a guest that yields stays runnable.
  void count_runnable();
  void count_not_runnable();  // on the loop

  // How often a waiting guest without a timer looks at its request's cancel flag.
  static constexpr std::chrono::milliseconds kCancelCheck{250};

  // kIdle -> kQueued (schedule posts a turn) -> kRunning -> kIdle, or kRunning -> kAgain
  // (asked again during the turn) -> kRunning (the turn goes on).
  enum State : int { kIdle, kQueued, kRunning, kAgain };
  std::atomic<int> state_{kQueued};  // start() queues the first turn

  boost::asio::any_io_executor executor_;
  WorkerPool* workers_;
  LaneGate* gate_;
  std::atomic<bool> counted_{false};
  std::optional<boost::asio::steady_timer> timer_;  // made at the first timed suspension
  Limits limits_;
  std::shared_ptr<void> owner_;  // holds the store: declared first, destroyed last
  std::unique_ptr<wasm::Fiber> fiber_;
  std::function<void(const std::optional<wasm::Error>&)> done_;
  // The task keeps itself while its fiber lives: a waiting guest is referred to only by
  // the wakers it handed out, which hold it weakly.
  std::shared_ptr<FiberTask> self_;
};

}  // namespace gyre::trigger
