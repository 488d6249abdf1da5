#include "trigger/fiber_task.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

namespace gyre::trigger {

namespace net = boost::asio;

FiberTask::FiberTask(net::any_io_executor executor, Limits limits)
    : strand_(net::make_strand(executor)), limits_(std::move(limits)) {}

void FiberTask::start(net::any_io_executor executor, wasm::Store& store,
                      std::shared_ptr<void> owner, std::function<void(Suspender&)> body,
                      std::function<void(const std::optional<wasm::Error>&)> done, Limits limits) {
  auto task = std::shared_ptr<FiberTask>(new FiberTask(std::move(executor), std::move(limits)));
  task->owner_ = std::move(owner);
  task->done_ = std::move(done);
  FiberTask* raw = task.get();
  task->fiber_ =
      std::make_unique<wasm::Fiber>(store, [raw, body = std::move(body)] { body(*raw); });
  task->self_ = task;
  net::dispatch(task->strand_, [task] { task->step(); });
}

void FiberTask::step() {
  if (!fiber_->resume()) {
    // Parked: a waker or the timer resumes it. Yielded at an epoch tick: queue behind the
    // lane's other work.
    if (!fiber_->parked()) net::post(strand_, [self = self_] { self->step(); });
    return;
  }
  const std::optional<wasm::Error> error = fiber_->error();
  auto keep = std::move(self_);  // this object lives until the end of this function
  fiber_.reset();
  done_(error);
  owner_.reset();
}

void FiberTask::on_wake() {
  if (!fiber_ || !fiber_->parked()) return;  // a late wake: the guest has moved on
  fiber_->unpark();
  step();
}

Suspender::Wake FiberTask::waker() {
  return [weak = weak_from_this(), strand = strand_] {
    net::post(strand, [weak] {
      if (auto task = weak.lock()) task->on_wake();
    });
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
    if (!timer_) timer_.emplace(strand_);
    timer_->expires_at(*until);
    timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto task = weak.lock()) task->on_wake();
    });
  }
  const bool resumed = fiber_->park();
  if (until) timer_->cancel();
  return resumed && !must_stop();
}

}  // namespace gyre::trigger
