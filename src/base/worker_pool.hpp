// A fixed set of threads running posted tasks in order of arrival: where guests run, so a
// guest that blocks (a timer, a slow body) holds a worker and not the network threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "base/task_threads.hpp"

namespace gyre {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  // Runs what was posted, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);
  // Runs the task on an idle worker, or on a thread of its own when none is idle: for
  // tasks that a busy worker waits for (a request one component sends another), which
  // would otherwise deadlock a pool whose every worker waits.
  void post_now(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  size_t idle_ = 0;
  std::vector<std::thread> threads_;
  TaskThreads extra_threads_;  // under mutex_
};

}  // namespace gyre
