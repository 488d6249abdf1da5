// A fixed set of threads running posted tasks in order of arrival: where guests run, so a
// guest that blocks (a timer, a slow body) holds a worker and not the network threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace gyre {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  // Runs what was posted, then joins.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void post(std::function<void()> task);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace gyre
