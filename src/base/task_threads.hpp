// Threads started for one task each, beside a fixed pool: joined once their task is done
// (reap) or at the end. Not synchronised: the owner guards it with its own mutex.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <thread>

namespace gyre {

class TaskThreads {
 public:
  TaskThreads() = default;
  TaskThreads(const TaskThreads&) = delete;
  TaskThreads& operator=(const TaskThreads&) = delete;
  ~TaskThreads() { join_all(); }

  void start(std::function<void()> task);
  // Joins the threads whose task is done.
  void reap();
  void join_all();
  bool runs_on(std::thread::id id) const;

 private:
  struct Entry {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Entry> entries_;
};

}  // namespace gyre
