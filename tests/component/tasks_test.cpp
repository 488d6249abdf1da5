// Several tasks in one component instance: functions lifted async with a callback,
// started side by side and driven as their events arrive, backpressure holding new tasks
// back, and a trap in one ending them all. The host call they wait on (`held`) returns
// only when the test resolves it, so the test decides the order things happen in.
#include <gtest/gtest.h>

#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "support/wat_guest.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

// twice(x): calls held(x) lowered async, waits on a set of its own, and returns what
// held returned. gate(x): the same, applying backpressure until then. boom(x): traps
// when held returns.
constexpr const char* kGuest = R"wat(
(component
  (import "gyre:test/host" (instance $h
    (export "held" (func async (param "x" u32) (result u32)))
  ))
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (alias export $h "held" (func $held))
  (core func $held (canon lower (func $held) async (memory $mem)))
  (core func $ws-new (canon waitable-set.new))
  (core func $ws-drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $st-drop (canon subtask.drop))
  (core func $ret (canon task.return (result u32)))
  (core func $ctx-get (canon context.get i32 0))
  (core func $ctx-set (canon context.set i32 0))
  (core func $bp-inc (canon backpressure.inc))
  (core func $bp-dec (canon backpressure.dec))
  (core func $task-cancel (canon task.cancel))
  (core module $m
    (import "h" "held" (func $held (param i32 i32) (result i32)))
    (import "h" "ws-new" (func $ws-new (result i32)))
    (import "h" "ws-drop" (func $ws-drop (param i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "h" "st-drop" (func $st-drop (param i32)))
    (import "h" "ret" (func $ret (param i32)))
    (import "h" "ctx-get" (func $ctx-get (result i32)))
    (import "h" "ctx-set" (func $ctx-set (param i32)))
    (import "h" "bp-inc" (func $bp-inc))
    (import "h" "bp-dec" (func $bp-dec))
    (import "h" "task-cancel" (func $task-cancel))
    (import "libc" "mem" (memory 1))
    ;; Each task keeps held's result and its set at 1024 + 16x, and that address in its
    ;; context slot.
    (func $twice (export "twice") (param $x i32) (result i32)
      (local $status i32) (local $set i32) (local $ptr i32)
      (local.set $ptr (i32.add (i32.const 1024) (i32.shl (local.get $x) (i32.const 4))))
      (local.set $status (call $held (local.get $x) (local.get $ptr)))
      (if (i32.ne (i32.and (local.get $status) (i32.const 15)) (i32.const 1)) (then unreachable))
      (local.set $set (call $ws-new))
      (call $join (i32.shr_u (local.get $status) (i32.const 4)) (local.get $set))
      (i32.store offset=4 (local.get $ptr) (local.get $set))
      (call $ctx-set (local.get $ptr))
      (i32.or (i32.const 2) (i32.shl (local.get $set) (i32.const 4))))
    (func $twice-cb (export "twice-cb") (param $code i32) (param $index i32) (param $payload i32)
      (result i32)
      (local $ptr i32)
      (if (i32.ne (local.get $code) (i32.const 1)) (then unreachable))
      (if (i32.ne (local.get $payload) (i32.const 2)) (then unreachable))
      (local.set $ptr (call $ctx-get))
      (call $st-drop (local.get $index))
      (call $ws-drop (i32.load offset=4 (local.get $ptr)))
      (call $ret (i32.load (local.get $ptr)))
      (i32.const 0))
    (func (export "gate") (param $x i32) (result i32)
      (call $bp-inc)
      (call $twice (local.get $x)))
    (func (export "gate-cb") (param i32 i32 i32) (result i32)
      (call $bp-dec)
      (call $twice-cb (local.get 0) (local.get 1) (local.get 2)))
    (func (export "boom-cb") (param i32 i32 i32) (result i32) unreachable)
    ;; Ends with task.cancel when told it is cancelled (TASK_CANCELLED, 6).
    (func (export "stop-cb") (param $code i32) (param i32 i32) (result i32)
      (if (i32.ne (local.get $code) (i32.const 6)) (then unreachable))
      (call $task-cancel)
      (i32.const 0))
    (func (export "cancel-now") (param i32) (result i32)
      (call $task-cancel)
      (i32.const 0))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "held" (func $held)) (export "ws-new" (func $ws-new))
      (export "ws-drop" (func $ws-drop)) (export "join" (func $join))
      (export "st-drop" (func $st-drop)) (export "ret" (func $ret))
      (export "ctx-get" (func $ctx-get)) (export "ctx-set" (func $ctx-set))
      (export "bp-inc" (func $bp-inc)) (export "bp-dec" (func $bp-dec))
      (export "task-cancel" (func $task-cancel))))))
  (func (export "twice") async (param "x" u32) (result u32)
    (canon lift (core func $i "twice") async (callback (core func $i "twice-cb"))))
  (func (export "gate") async (param "x" u32) (result u32)
    (canon lift (core func $i "gate") async (callback (core func $i "gate-cb"))))
  (func (export "boom") async (param "x" u32) (result u32)
    (canon lift (core func $i "twice") async (callback (core func $i "boom-cb"))))
  (func (export "stoppable") async (param "x" u32) (result u32)
    (canon lift (core func $i "twice") async (callback (core func $i "stop-cb"))))
  (func (export "cancel-now") async (param "x" u32) (result u32)
    (canon lift (core func $i "cancel-now") async (callback (core func $i "stop-cb"))))
)
)wat";

class Tasks : public ::testing::Test {
 protected:
  // The component under test.
  virtual std::string wat() const { return kGuest; }

  void SetUp() override {
    host_.interface("gyre:test/host").functions["held"] =
        [this](HostCall& call,
               std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
      held_.push_back(call.defer());
      const auto x = static_cast<uint32_t>(args[0].bits);
      log_.push_back("held " + std::to_string(x));
      if (x >= kAutoResolvedFrom) {  // resolved at the guest's next wait, with x + 100
        instance_->concurrency().scheduler.post([this, pending = held_.back(), x] {
          log_.push_back("resolved " + std::to_string(x));
          pending->resolve(Val::u32(x + 100));
        });
      }
      return std::optional<Val>();
    };
    auto guest = gyre::testing::instantiate_wat(*engine_, store_, wat(), host_);
    ASSERT_TRUE(guest.instance);
    pre_ = guest.pre;
    instance_ = std::move(guest.instance);
  }

  // Starts `name`(x), recording its result and its exit; its id.
  uint64_t start(const char* name, uint32_t x) {
    const Val args[] = {Val::u32(x)};
    auto started = instance_->start(
        *instance_->function(name), args,
        [this](const std::optional<Val>& r) { results_.push_back(static_cast<uint32_t>(r->bits)); },
        [this](const std::optional<wasm::Error>& e) {
          exits_.push_back(e ? e->describe() : "ok");
        });
    EXPECT_TRUE(started.ok()) << started.error().describe();
    return started ? *started : 0;
  }

  // Resolves the `i`th held call with `value`, from the scheduler as another thread would.
  void resolve(size_t i, uint32_t value) {
    std::shared_ptr<PendingCall> pending = held_.at(i);
    instance_->concurrency().scheduler.post(
        [pending, value] { pending->resolve(Val::u32(value)); });
  }

  Result<void, wasm::Error> drive_until(const std::function<bool()>& done) {
    return instance_->drive(done);
  }

  std::unique_ptr<wasm::Engine> engine_ = gyre::testing::test_engine(8);
  wasm::Store store_{*engine_};
  HostImports host_;
  // held(x) for x from this on resolves itself; for others the test resolves it.
  static constexpr uint32_t kAutoResolvedFrom = 50;
  std::vector<std::shared_ptr<PendingCall>> held_;
  std::vector<std::string> log_;  // the host's side of held: its calls and resolutions
  std::vector<uint32_t> results_;
  std::vector<std::string> exits_;
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<ComponentInstance> instance_;
};

// Both tasks are in their host call at once; the second, resolved first, returns first.
TEST_F(Tasks, TwoTasksWaitSideBySideAndFinishInTheOrderTheirEventsCome) {
  start("twice", 1);
  start("twice", 2);
  EXPECT_EQ(held_.size(), 2u);
  EXPECT_TRUE(results_.empty());

  resolve(1, 20);
  ASSERT_TRUE(drive_until([&] { return results_.size() == 1; }).ok());
  EXPECT_EQ(results_, std::vector<uint32_t>{20});
  EXPECT_EQ(exits_, std::vector<std::string>{"ok"});

  resolve(0, 10);
  ASSERT_TRUE(drive_until([&] { return exits_.size() == 2; }).ok());
  EXPECT_EQ(results_, (std::vector<uint32_t>{20, 10}));
}

// gate(1) applies backpressure while it waits: gate(2) starts only once gate(1) is done.
TEST_F(Tasks, BackpressureHoldsANewTaskBackUntilItIsReleased) {
  start("gate", 1);
  start("gate", 2);
  EXPECT_EQ(held_.size(), 1u);

  resolve(0, 10);
  ASSERT_TRUE(drive_until([&] { return held_.size() == 2; }).ok());
  EXPECT_EQ(results_, std::vector<uint32_t>{10});

  resolve(1, 20);
  ASSERT_TRUE(drive_until([&] { return exits_.size() == 2; }).ok());
  EXPECT_EQ(results_, (std::vector<uint32_t>{10, 20}));
}

// boom traps when its call returns: the instance is done, and both tasks exit with the
// trap.
TEST_F(Tasks, ATrapInOneTaskEndsEveryTask) {
  start("twice", 1);
  start("boom", 2);
  resolve(1, 20);
  auto driven = drive_until([&] { return exits_.size() == 2; });
  ASSERT_FALSE(driven.ok());
  ASSERT_EQ(exits_.size(), 2u);
  for (const std::string& exit : exits_)
    EXPECT_NE(exit.find("unreachable"), std::string::npos) << exit;
  const Val args[] = {Val::u32(3)};
  auto again = instance_->start(*instance_->function("twice"), args, nullptr, nullptr);
  EXPECT_FALSE(again.ok());
}

// Nothing holds the scheduler and no task can go on: drive traps instead of hanging.
TEST_F(Tasks, DrivingTasksThatNothingCanWakeTraps) {
  start("twice", 1);
  held_.clear();  // the host lets go of the call without resolving it
  auto driven = drive_until([&] { return !exits_.empty(); });
  ASSERT_FALSE(driven.ok());
  EXPECT_NE(driven.error().describe().find("would never end"), std::string::npos)
      << driven.error().describe();
}

// The host cancels a task waiting for its call: the guest is told (TASK_CANCELLED) and
// ends with task.cancel, without a result.
TEST_F(Tasks, ACancelledTaskIsToldAndEndsWithoutAResult) {
  const uint64_t id = start("stoppable", 1);
  ASSERT_EQ(held_.size(), 1u);
  instance_->cancel(id);
  ASSERT_TRUE(drive_until([&] { return !exits_.empty(); }).ok());
  EXPECT_EQ(exits_, std::vector<std::string>{"ok"});
  EXPECT_TRUE(results_.empty());
}

// A task held back by backpressure and cancelled never starts.
TEST_F(Tasks, ACancelledTaskThatHasNotStartedExitsAtOnce) {
  start("gate", 1);
  const uint64_t second = start("gate", 2);
  instance_->cancel(second);
  EXPECT_EQ(exits_, std::vector<std::string>{"ok"});
  resolve(0, 10);
  ASSERT_TRUE(drive_until([&] { return exits_.size() == 2; }).ok());
  EXPECT_EQ(held_.size(), 1u);  // gate(2) never called held
  EXPECT_EQ(results_, std::vector<uint32_t>{10});
}

TEST_F(Tasks, TaskCancelWithoutACancellationTraps) {
  const Val args[] = {Val::u32(1)};
  auto started = instance_->start(*instance_->function("cancel-now"), args, nullptr, nullptr);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().describe().find("task.cancel by a task that was not cancelled"),
            std::string::npos)
      << started.error().describe();
}

// The encoding of wasm-tools up to 1.239 (WASIp3's rc-2025-09-16): no async function
// types, an `[async]` prefix on the names instead. The host serves `held` and finds
// `twice` under their plain names.
TEST_F(Tasks, TheAsyncNamePrefixOfOlderEncodingsIsUnderstood) {
  std::string wat = kGuest;
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = wat.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    wat.replace(at, from.size(), to);
  };
  replace(R"((export "held" (func async)", R"((export "[async]held" (func)");
  replace(R"((alias export $h "held")", R"((alias export $h "[async]held")");
  replace(R"((func (export "twice") async)", R"((func (export "[async]twice"))");
  wasm::Store store(*engine_);
  auto guest = gyre::testing::instantiate_wat(*engine_, store, wat, host_);
  ASSERT_TRUE(guest.instance);
  const ComponentFunction* twice = guest.instance->function("twice");
  ASSERT_NE(twice, nullptr);
  const Val args[] = {Val::u32(1)};
  std::optional<uint32_t> result;
  ASSERT_TRUE(guest.instance
                  ->start(
                      *twice, args,
                      [&](const std::optional<Val>& r) { result = static_cast<uint32_t>(r->bits); },
                      nullptr)
                  .ok());
  ASSERT_EQ(held_.size(), 1u);
  held_[0]->resolve(Val::u32(7));
  ASSERT_TRUE(guest.instance->drive([&] { return result.has_value(); }).ok());
  EXPECT_EQ(result, 7u);
}

// ---- one guest's async calls of another's tasks ------------------------------------------

// The component above, nested as the callee of a caller that lowers its `twice` and
// `stoppable` async. pair(x) calls twice(x) and twice(x + 1) at once and returns the sum;
// so does pair-stackful(x), lifted async without a callback, waiting with
// waitable-set.wait; cancel-callee(x) calls stoppable(x), cancels it and returns what
// subtask.cancel said. The caller traps unless each call is left STARTED (1), each event
// is a subtask's (1) and each subtask RETURNED (2).
std::string caller_wat() {
  const std::string callee = kGuest;
  const size_t body = callee.find("(component") + std::string("(component").size();
  return R"wat(
(component
  (import "gyre:test/host" (instance $h
    (export "held" (func async (param "x" u32) (result u32)))
  ))
  (component $Callee)wat" +
         callee.substr(body) + R"wat(
  (instance $callee (instantiate $Callee (with "gyre:test/host" (instance $h))))
  (alias export $callee "twice" (func $twice))
  (alias export $callee "stoppable" (func $stoppable))
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (core func $twice (canon lower (func $twice) async (memory $mem)))
  (core func $stoppable (canon lower (func $stoppable) async (memory $mem)))
  (core func $ws-new (canon waitable-set.new))
  (core func $ws-drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $wait (canon waitable-set.wait (memory $mem)))
  (core func $st-drop (canon subtask.drop))
  (core func $st-cancel (canon subtask.cancel))
  (core func $ret (canon task.return (result u32)))
  (core module $m
    (import "h" "twice" (func $twice (param i32 i32) (result i32)))
    (import "h" "stoppable" (func $stoppable (param i32 i32) (result i32)))
    (import "h" "ws-new" (func $ws-new (result i32)))
    (import "h" "ws-drop" (func $ws-drop (param i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "h" "wait" (func $wait (param i32 i32) (result i32)))
    (import "h" "st-drop" (func $st-drop (param i32)))
    (import "h" "st-cancel" (func $st-cancel (param i32) (result i32)))
    (import "h" "ret" (func $ret (param i32)))
    (import "libc" "mem" (memory 1))
    ;; The subtask of a call that must have been left STARTED.
    (func $started (param $status i32) (result i32)
      (if (i32.ne (i32.and (local.get $status) (i32.const 15)) (i32.const 1)) (then unreachable))
      (i32.shr_u (local.get $status) (i32.const 4)))
    ;; Calls twice(x) and twice(x + 1) into 2048 and 2052, both in a new set (kept at
    ;; 2056, with the count of results in at 2060); the set.
    (func $start-both (param $x i32) (result i32)
      (local $set i32)
      (local.set $set (call $ws-new))
      (call $join (call $started (call $twice (local.get $x) (i32.const 2048))) (local.get $set))
      (call $join (call $started (call $twice (i32.add (local.get $x) (i32.const 1))
                                              (i32.const 2052)))
                  (local.get $set))
      (i32.store (i32.const 2056) (local.get $set))
      (i32.store (i32.const 2060) (i32.const 0))
      (local.get $set))
    ;; One subtask's event; true once both results are in.
    (func $one-in (param $code i32) (param $index i32) (param $payload i32) (result i32)
      (if (i32.ne (local.get $code) (i32.const 1)) (then unreachable))
      (if (i32.ne (local.get $payload) (i32.const 2)) (then unreachable))
      (call $st-drop (local.get $index))
      (i32.store (i32.const 2060) (i32.add (i32.load (i32.const 2060)) (i32.const 1)))
      (i32.eq (i32.load (i32.const 2060)) (i32.const 2)))
    (func $finish
      (call $ws-drop (i32.load (i32.const 2056)))
      (call $ret (i32.add (i32.load (i32.const 2048)) (i32.load (i32.const 2052)))))
    (func (export "pair") (param $x i32) (result i32)
      (i32.or (i32.const 2) (i32.shl (call $start-both (local.get $x)) (i32.const 4))))
    (func (export "pair-cb") (param i32 i32 i32) (result i32)
      (if (call $one-in (local.get 0) (local.get 1) (local.get 2))
        (then (call $finish) (return (i32.const 0))))
      (i32.or (i32.const 2) (i32.shl (i32.load (i32.const 2056)) (i32.const 4))))
    (func (export "pair-stackful") (param $x i32)
      (local $set i32) (local $code i32)
      (local.set $set (call $start-both (local.get $x)))
      (loop $more
        (local.set $code (call $wait (local.get $set) (i32.const 2064)))
        (br_if $more (i32.eqz (call $one-in (local.get $code) (i32.load (i32.const 2064))
                                            (i32.load (i32.const 2068))))))
      (call $finish))
    (func (export "cancel-callee") (param $x i32)
      (call $ret (call $st-cancel
        (call $started (call $stoppable (local.get $x) (i32.const 2048))))))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "twice" (func $twice)) (export "stoppable" (func $stoppable))
      (export "ws-new" (func $ws-new)) (export "ws-drop" (func $ws-drop))
      (export "join" (func $join)) (export "wait" (func $wait))
      (export "st-drop" (func $st-drop)) (export "st-cancel" (func $st-cancel))
      (export "ret" (func $ret))))))
  (func (export "pair") async (param "x" u32) (result u32)
    (canon lift (core func $i "pair") async (callback (core func $i "pair-cb"))))
  (func (export "pair-stackful") async (param "x" u32) (result u32)
    (canon lift (core func $i "pair-stackful") async))
  (func (export "cancel-callee") async (param "x" u32) (result u32)
    (canon lift (core func $i "cancel-callee") async))
)
)wat";
}

class GuestCalls : public Tasks {
 protected:
  std::string wat() const override { return caller_wat(); }

  std::optional<uint32_t> call(const char* name, uint32_t x) {
    const Val args[] = {Val::u32(x)};
    auto called = instance_->call(*instance_->function(name), args);
    EXPECT_TRUE(called.ok()) << called.error().describe();
    if (!called || !called->has_value()) return std::nullopt;
    return static_cast<uint32_t>((*called)->bits);
  }
};

// Both calls of the callee are in the host at once, each its own task, while the caller
// waits for their subtasks.
TEST_F(GuestCalls, AnAsyncCallOfAnotherGuestsTaskGoesOnWhileItWaits) {
  start("pair", 1);
  EXPECT_EQ(log_, (std::vector<std::string>{"held 1", "held 2"}));
  EXPECT_TRUE(exits_.empty());

  resolve(1, 20);
  resolve(0, 10);
  ASSERT_TRUE(drive_until([&] { return !exits_.empty(); }).ok());
  EXPECT_EQ(results_, std::vector<uint32_t>{30});
  EXPECT_EQ(exits_, std::vector<std::string>{"ok"});
}

// A caller lifted without a callback waits on its stack; the callee's tasks take their
// turns meanwhile.
TEST_F(GuestCalls, AStackfulCallerWaitingOnAnotherGuestsTasksLetsThemRun) {
  EXPECT_EQ(call("pair-stackful", 60), 160u + 161u);
  EXPECT_EQ(log_, (std::vector<std::string>{"held 60", "held 61", "resolved 60", "resolved 61"}));
}

// The caller cancels its call: the callee's task is told, ends with task.cancel, and the
// caller's subtask is CANCELLED_BEFORE_RETURNED (4).
TEST_F(GuestCalls, CancellingACallOfAnotherGuestCancelsItsTask) {
  EXPECT_EQ(call("cancel-callee", 1), 4u);
  EXPECT_EQ(log_, std::vector<std::string>{"held 1"});
}

}  // namespace
}  // namespace gyre::component
