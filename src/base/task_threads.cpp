#include "base/task_threads.hpp"

namespace gyre {

void TaskThreads::start(std::function<void()> task) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  entries_.push_back(Entry{std::thread([task = std::move(task), done] {
                             task();
                             done->store(true);
                           }),
                           done});
}

void TaskThreads::reap() {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->done->load()) {
      it->thread.join();
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void TaskThreads::join_all() {
  for (auto& e : entries_)
    e.thread.join();
  entries_.clear();
}

bool TaskThreads::runs_on(std::thread::id id) const {
  for (const auto& e : entries_) {
    if (e.thread.get_id() == id) return true;
  }
  return false;
}

}  // namespace gyre
