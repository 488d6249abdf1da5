// The lane's gate: guests past the limit of runnable ones wait, first come first served,
// and start as runnable ones wait or end.
#include "trigger/lane_gate.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace gyre::trigger {
namespace {

TEST(LaneGate, StartsQueuedGuestsInOrderAsRunnableOnesStop) {
  LaneGate gate(2);
  std::vector<int> started;
  // Each "guest" becomes runnable when started, as FiberTask::start makes it.
  auto guest = [&](int id) {
    return [&, id] {
      started.push_back(id);
      gate.runnable();
    };
  };
  for (int id = 1; id <= 2; ++id) {
    ASSERT_FALSE(gate.full()) << id;
    guest(id)();
  }
  for (int id = 3; id <= 5; ++id) {
    ASSERT_TRUE(gate.full()) << id;
    gate.enqueue(guest(id));
  }
  EXPECT_EQ(started, (std::vector<int>{1, 2}));
  gate.not_runnable();  // guest 1 waits on its upstream
  EXPECT_EQ(started, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(gate.queued(), 2u);
  // A waiting guest woken again counts once more: nothing else starts meanwhile.
  gate.runnable();
  gate.not_runnable();
  EXPECT_EQ(started, (std::vector<int>{1, 2, 3}));
  gate.not_runnable();
  EXPECT_EQ(started, (std::vector<int>{1, 2, 3, 4}));
  gate.not_runnable();
  EXPECT_EQ(started, (std::vector<int>{1, 2, 3, 4, 5}));
  EXPECT_EQ(gate.queued(), 0u);
  EXPECT_TRUE(gate.full());  // two runnable
  gate.not_runnable();
  EXPECT_FALSE(gate.full());
}

TEST(LaneGate, AGuestThatFailsToStartLetsTheNextOneStart) {
  LaneGate gate(1);
  std::vector<int> started;
  gate.runnable();
  gate.enqueue([&] { started.push_back(1); });  // fails: never runnable
  gate.enqueue([&] {
    started.push_back(2);
    gate.runnable();
  });
  gate.not_runnable();
  EXPECT_EQ(started, (std::vector<int>{1, 2}));
  EXPECT_TRUE(gate.full());
}

}  // namespace
}  // namespace gyre::trigger
