#include "component/concurrency/scheduler.hpp"

#include <string>

#include "component/abi.hpp"

namespace gyre::component {

void Scheduler::set_suspender(Suspender* suspender) {
  std::lock_guard lock(mutex_);
  suspender_ = suspender;
}

void Scheduler::post(std::function<void()> work) {
  Suspender::Wake wake;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;  // `work` is destroyed here, outside nothing it could need
    mailbox_.push_back(std::move(work));
    if (suspender_ != nullptr) wake = suspender_->waker();
  }
  posted_.notify_one();
  if (wake) wake();
}

void Scheduler::close() {
  std::vector<std::function<void()>> dropped;
  std::lock_guard lock(mutex_);
  closed_ = true;
  suspender_ = nullptr;
  runner_ = nullptr;
  dropped.swap(mailbox_);
}

bool Scheduler::take(std::vector<std::function<void()>>& out) {
  std::lock_guard lock(mutex_);
  out.swap(mailbox_);
  return !out.empty();
}

void Scheduler::run_posted() {
  std::vector<std::function<void()>> work;
  while (take(work)) {
    for (auto& w : work)
      w();
    work.clear();
  }
}

void Scheduler::wait_until(const std::function<bool()>& ready, const std::string& what) {
  for (;;) {
    run_posted();
    if (ready()) return;
    if (run_other()) continue;
    wait_for_post(what);
  }
}

void Scheduler::wait_for_post(const std::string& what) {
  if (holds_ == 0)
    throw AbiTrap{what + " would never end: nothing outside the guest can make progress for it"};
  if (suspender_ != nullptr) {
    if (!suspender_->suspend()) throw AbiTrap{kStoppedWhileWaiting};
    return;
  }
  std::unique_lock lock(mutex_);
  posted_.wait(lock, [&] { return !mailbox_.empty() || closed_; });
}

}  // namespace gyre::component
