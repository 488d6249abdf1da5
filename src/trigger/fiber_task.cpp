#include "trigger/fiber_task.hpp"

#include <algorithm>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <vector>

namespace gyre::trigger {

namespace net = boost::asio;

FiberTask::FiberTask(Services services, Limits limits)
    : executor_(std::move(services.executor)),
      workers_(services.workers),
      gate_(services.gate),
      limits_(std::move(limits)) {}

void FiberTask::count_runnable() {
  if (gate_ != nullptr && !counted_.exchange(true, std::memory_order_acq_rel)) gate_->runnable();
}

void FiberTask::count_not_runnable() {
  if (gate_ != nullptr && counted_.exchange(false, std::memory_order_acq_rel))
    gate_->not_runnable();
}

void FiberTask::start(Services services, wasm::Store& store, std::shared_ptr<void> owner,
                      std::function<void(Suspender&)> body,
                      std::function<void(const std::optional<wasm::Error>&)> done, Limits limits) {
  auto task = std::shared_ptr<FiberTask>(new FiberTask(std::move(services), std::move(limits)));
  task->owner_ = std::move(owner);
  task->done_ = std::move(done);
  FiberTask* raw = task.get();
  task->fiber_ =
      std::make_unique<wasm::Fiber>(store, [raw, body = std::move(body)] { body(*raw); });
  task->self_ = task;
  task->count_runnable();
  // The first turn comes from the loop's queue, not from inside the server's handle()
  // call, which returns at once: the connection's next read is set up before the guest
  // runs.
  net::post(task->executor_, [task] { task->turn(); });
}

void FiberTask::schedule() {
  int state = state_.load(std::memory_order_acquire);
  for (;;) {
    const int next = state == kIdle ? kQueued : state == kRunning ? kAgain : state;
    if (next == state) return;  // a turn is queued, or one in progress will go on
    if (state_.compare_exchange_weak(state, next, std::memory_order_acq_rel)) break;
  }
  if (state != kIdle) return;
  count_runnable();
  net::post(executor_, [self = shared_from_this()] { self->turn(); });
}

void FiberTask::turn() {
  state_.store(kRunning, std::memory_order_release);
  auto keep = shared_from_this();  // a finished fiber drops self_ inside resume()
  for (;;) {
    resume();
    // Waiting (or ended): not runnable, before a waker may queue the next turn.
    if (!fiber_ || fiber_->parked()) count_not_runnable();
    int expected = kRunning;
    if (state_.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) return;
    state_.store(kRunning, std::memory_order_release);  // kAgain: asked during the turn
    count_runnable();
  }
}

void FiberTask::resume() {
  if (!fiber_) return;  // finished: a late wake
  fiber_->unpark();     // a wake only says "look again"; the host code checks its condition
  if (!fiber_->resume()) {
    // Parked: a waker or the timer schedules it. Yielded at an epoch tick: takes its next
    // turn from the back of the loop's queue, after the lane's other work (once: if a
    // waker queued a turn meanwhile, that turn resumes it).
    if (!fiber_->parked()) {
      net::post(executor_, [self = self_] {
        int idle = kIdle;
        if (self->state_.compare_exchange_strong(idle, kQueued, std::memory_order_acq_rel))
          self->turn();
      });
    }
    return;
  }
  const std::optional<wasm::Error> error = fiber_->error();
  fiber_.reset();
  done_(error);
  owner_.reset();
  self_.reset();
}

Suspender::Wake FiberTask::waker() {
  return [weak = weak_from_this()] {
    if (auto task = weak.lock()) task->schedule();
  };
}

bool FiberTask::must_stop() const {
  if (limits_.cancelled && limits_.cancelled->load(std::memory_order_relaxed)) return true;
  return limits_.deadline && Clock::now() >= *limits_.deadline;
}

bool FiberTask::suspend(std::optional<Clock::time_point> until) {
  if (must_stop()) return false;
  auto wake_at = [&](Clock::time_point at) { until = until ? std::min(*until, at) : at; };
  if (limits_.deadline) wake_at(*limits_.deadline);
  if (limits_.cancelled) wake_at(Clock::now() + kCancelCheck);
  if (until) {
    if (!timer_) timer_.emplace(executor_);
    timer_->expires_at(*until);
    timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto task = weak.lock()) task->schedule();
    });
  }
  const bool resumed = fiber_->park();
  if (until) timer_->cancel();
  return resumed && !must_stop();
}

bool FiberTask::suspend_on_sockets(std::span<const SocketInterest> sockets,
                                   std::optional<Clock::time_point> until) {
  // Each socket is watched by the lane's own loop for this one wait, then released (not
  // closed: its owner keeps it). Releasing ends the watch; its handler then sees
  // operation_aborted and does nothing. The loop can watch an fd only once, so the
  // interests of one fd are merged first.
  std::vector<SocketInterest> merged;
  for (const SocketInterest& s : sockets) {
    auto same = std::find_if(merged.begin(), merged.end(),
                             [&](const SocketInterest& m) { return m.fd == s.fd; });
    if (same == merged.end()) {
      merged.push_back(s);
    } else {
      same->ready |= s.ready;
    }
  }
  auto on_ready = [weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto task = weak.lock()) task->schedule();
  };
  std::vector<net::posix::stream_descriptor> watched;
  watched.reserve(merged.size());
  for (const SocketInterest& s : merged) {
    watched.emplace_back(executor_, s.fd);
    if (s.ready & kSocketReadable)
      watched.back().async_wait(net::posix::descriptor_base::wait_read, on_ready);
    if (s.ready & kSocketWritable)
      watched.back().async_wait(net::posix::descriptor_base::wait_write, on_ready);
  }
  const bool go_on = suspend(until);
  for (auto& socket : watched)
    socket.release();
  return go_on;
}

void FiberTask::offload(const std::function<void()>& work) {
  if (workers_ == nullptr) return work();
  // The worker signals through `finished`, which the fiber checks after every wake; the
  // fiber waits for it even when it is to stop, because `work` may use its stack.
  auto finished = std::make_shared<std::atomic<bool>>(false);
  workers_->post([&work, finished, wake = waker()] {
    work();
    finished->store(true, std::memory_order_release);
    wake();
  });
  while (!finished->load(std::memory_order_acquire))
    fiber_->park();
}

}  // namespace gyre::trigger
