// How many guests one server lane lets compute at once. A guest that waits (on its
// upstream, a database, a timer) does not count: only guests that are running or queued
// to run do. Past the limit, a new request's guest is not started but queued, first come
// first served, until a running guest waits or ends.
//
// Why: a lane that starts every request's guest at once shares its core among all of
// them, and under more load than the core can serve each guest's turns come around ever
// more slowly: a thousand JavaScript guests on two lanes made some requests wait over
// 10 s while the median waited 0.5 s, and held a gigabyte of instances. Admitting in
// order of arrival keeps the waits alike and the instances few; guests that wait, the
// usual case, are admitted at once as before.
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>

namespace gyre::trigger {

class LaneGate {
 public:
  // The limit `gyre up` gives each lane. Waiting guests do not count, so it bounds only a
  // lane that has more computing to do than it can: enough that a burst of quick
  // requests (32 connections of a hello world on two lanes) passes without queueing, few
  // enough that a guest's next turn comes around within tens of milliseconds.
  static constexpr size_t kLimit = 32;

  explicit LaneGate(size_t limit) : limit_(limit) {}

  // Whether a new guest must wait: the limit is reached, or others wait already. Then
  // `start` goes to the back of the queue. Both on the lane's thread.
  bool full() const {
    return !queue_.empty() || runnable_.load(std::memory_order_relaxed) >= limit_;
  }
  void enqueue(std::function<void()> start) { queue_.push_back(std::move(start)); }

  // A guest became runnable (any thread), or stopped being runnable: it waits, or it has
  // ended (the lane's thread). The latter starts queued guests while there is room.
  void runnable() { runnable_.fetch_add(1, std::memory_order_relaxed); }
  void not_runnable();

  size_t queued() const { return queue_.size(); }

 private:
  const size_t limit_;
  std::atomic<size_t> runnable_{0};
  std::deque<std::function<void()>> queue_;
};

}  // namespace gyre::trigger
