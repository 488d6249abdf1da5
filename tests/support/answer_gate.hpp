// What a stand-in server (the LLM's, Vault's) uses to show that many guests wait on it at
// once: it holds its answers until a given number of requests have all arrived, and only
// then sends them. If they never all arrive (the guests are queued behind each other on a
// few threads instead of waiting together), the test's hang guard lets the held ones go
// and says so; it is a bound, never a timing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

namespace gyre::testing {

class AnswerGate {
 public:
  // Holds the answers of the next `count` requests (0: answers at once).
  void hold(size_t count) {
    std::lock_guard lock(mutex_);
    holding_ = count;
    arrived_ = 0;
  }

  // Sends `answer` now, or once the held count has arrived.
  void answer(std::function<void()> answer) {
    std::vector<std::function<void()>> release;
    {
      std::lock_guard lock(mutex_);
      if (holding_ == 0) {
        release.push_back(std::move(answer));
      } else {
        held_.push_back(std::move(answer));
        if (++arrived_ >= holding_) release = take_held();
      }
    }
    changed_.notify_all();
    for (auto& send : release)
      send();
  }

  // Waits (at most `guard`) until the held count has arrived. True when it did; either way
  // every held answer is sent and later ones go at once.
  bool all_arrived(std::chrono::seconds guard) {
    std::vector<std::function<void()>> release;
    bool all;
    {
      std::unique_lock lock(mutex_);
      all = changed_.wait_for(lock, guard, [&] { return holding_ == 0; });
      release = take_held();
    }
    for (auto& send : release)
      send();
    return all;
  }

 private:
  std::vector<std::function<void()>> take_held() {
    holding_ = 0;
    return std::exchange(held_, {});
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  size_t holding_ = 0;
  size_t arrived_ = 0;
  std::vector<std::function<void()>> held_;
};

}  // namespace gyre::testing
