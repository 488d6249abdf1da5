#include "trigger/lane_gate.hpp"

namespace gyre::trigger {

void LaneGate::not_runnable() {
  runnable_.fetch_sub(1, std::memory_order_relaxed);
  while (!queue_.empty() && runnable_.load(std::memory_order_relaxed) < limit_) {
    auto start = std::move(queue_.front());
    queue_.pop_front();
    start();  // makes a guest runnable, or fails at once
  }
}

}  // namespace gyre::trigger
