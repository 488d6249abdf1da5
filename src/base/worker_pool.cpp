#include "base/worker_pool.hpp"

#include "base/thread_name.hpp"

namespace gyre {

WorkerPool::WorkerPool(unsigned threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([this] {
      name_this_thread("gyre-worker");
      run();
    });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_)
    t.join();
  extra_threads_.join_all();
}

void WorkerPool::post_now(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    extra_threads_.reap();
    if (idle_ <= tasks_.size()) return extra_threads_.start(std::move(task));
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkerPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace gyre
