// The component model's async ABI as a guest uses the host: async-lowered calls that
// return at once, streams and futures the host returns, waitable sets, and the misuses the
// canonical ABI traps on. The guest is written in the text format, so each export does
// exactly one thing.
#include <gtest/gtest.h>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "support/wat_guest.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

// Imports gyre:test/async: numbers(count) -> stream<u32> (1..count), answer() ->
// future<u32> (42), add(a, b, c, d, e) -> u32 (five params: passed in memory when lowered
// async); each lowered async. Its exports return u32; see each test.
constexpr const char* kGuest = R"wat(
(component
  (import "gyre:test/async" (instance $h
    (export "numbers" (func async (param "count" u32) (result (stream u32))))
    (export "answer" (func async (result (future u32))))
    (export "add" (func async (param "a" u32) (param "b" u32) (param "c" u32) (param "d" u32) (param "e" u32) (result u32)))
  ))
  (type $s (stream u32))
  (type $f (future u32))
  (type $bytes (stream u8))
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (alias export $h "numbers" (func $numbers))
  (alias export $h "answer" (func $answer))
  (alias export $h "add" (func $add))
  (core func $numbers (canon lower (func $numbers) async (memory $mem)))
  (core func $answer (canon lower (func $answer) async (memory $mem)))
  (core func $add (canon lower (func $add) async (memory $mem)))
  (core func $read (canon stream.read $s async (memory $mem)))
  (core func $drop (canon stream.drop-readable $s))
  (core func $read-bytes (canon stream.read $bytes async (memory $mem)))
  (core func $fread (canon future.read $f async (memory $mem)))
  (core func $fdrop (canon future.drop-readable $f))
  (core func $ws-new (canon waitable-set.new))
  (core func $ws-wait (canon waitable-set.wait (memory $mem)))
  (core func $ws-poll (canon waitable-set.poll (memory $mem)))
  (core func $ws-drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $subtask-drop (canon subtask.drop))
  (core func $ctx-get (canon context.get i32 0))
  (core func $ctx-set (canon context.set i32 0))
  (core module $m
    (import "h" "numbers" (func $numbers (param i32 i32) (result i32)))
    (import "h" "answer" (func $answer (param i32) (result i32)))
    (import "h" "add" (func $add (param i32 i32) (result i32)))
    (import "h" "read" (func $read (param i32 i32 i32) (result i32)))
    (import "h" "drop" (func $drop (param i32)))
    (import "h" "read-bytes" (func $read-bytes (param i32 i32 i32) (result i32)))
    (import "h" "fread" (func $fread (param i32 i32) (result i32)))
    (import "h" "fdrop" (func $fdrop (param i32)))
    (import "h" "ws-new" (func $ws-new (result i32)))
    (import "h" "ws-wait" (func $ws-wait (param i32 i32) (result i32)))
    (import "h" "ws-poll" (func $ws-poll (param i32 i32) (result i32)))
    (import "h" "ws-drop" (func $ws-drop (param i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "h" "subtask-drop" (func $subtask-drop (param i32)))
    (import "h" "ctx-get" (func $ctx-get (result i32)))
    (import "h" "ctx-set" (func $ctx-set (param i32)))
    (import "libc" "mem" (memory 1))
    ;; The stream of `count` numbers: its handle (the call must have RETURNED, 2).
    (func $open (param $count i32) (result i32)
      (if (i32.ne (call $numbers (local.get $count) (i32.const 256)) (i32.const 2))
        (then unreachable))
      (i32.load (i32.const 256)))
    ;; Reads the numbers two at a time to the end: their sum, plus 65536 per read.
    (func (export "sum") (param $count i32) (result i32)
      (local $s i32) (local $status i32) (local $n i32) (local $sum i32) (local $i i32)
      (local.set $s (call $open (local.get $count)))
      (block $done
        (loop $more
          (local.set $status (call $read (local.get $s) (i32.const 512) (i32.const 2)))
          (local.set $sum (i32.add (local.get $sum) (i32.const 65536)))
          (br_if $done (i32.eq (i32.and (local.get $status) (i32.const 15)) (i32.const 1)))
          (local.set $n (i32.shr_u (local.get $status) (i32.const 4)))
          (local.set $i (i32.const 0))
          (block $row (loop $each
            (br_if $row (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $sum (i32.add (local.get $sum)
              (i32.load (i32.add (i32.const 512) (i32.shl (local.get $i) (i32.const 2))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each)))
          (br $more)))
      (call $drop (local.get $s))
      (local.get $sum))
    (func (export "read-after-end") (result i32)
      (local $s i32)
      (local.set $s (call $open (i32.const 0)))
      (drop (call $read (local.get $s) (i32.const 512) (i32.const 2)))
      (call $read (local.get $s) (i32.const 512) (i32.const 2)))
    (func (export "read-other-type") (result i32)
      (call $read-bytes (call $open (i32.const 3)) (i32.const 512) (i32.const 2)))
    (func (export "answer") (result i32)
      (local $f i32)
      (if (i32.ne (call $answer (i32.const 256)) (i32.const 2)) (then unreachable))
      (local.set $f (i32.load (i32.const 256)))
      (if (i32.ne (call $fread (local.get $f) (i32.const 512)) (i32.const 0)) (then unreachable))
      (call $fdrop (local.get $f))
      (i32.load (i32.const 512)))
    (func (export "add") (result i32)
      (i32.store (i32.const 1024) (i32.const 1))
      (i32.store (i32.const 1028) (i32.const 2))
      (i32.store (i32.const 1032) (i32.const 3))
      (i32.store (i32.const 1036) (i32.const 4))
      (i32.store (i32.const 1040) (i32.const 5))
      (if (i32.ne (call $add (i32.const 1024) (i32.const 256)) (i32.const 2)) (then unreachable))
      (i32.load (i32.const 256)))
    ;; Polls a set holding an idle stream: the event code (NONE, 0) and its two words.
    (func (export "poll") (result i32)
      (local $s i32) (local $set i32) (local $code i32)
      (local.set $s (call $open (i32.const 3)))
      (local.set $set (call $ws-new))
      (call $join (local.get $s) (local.get $set))
      (i32.store (i32.const 768) (i32.const -1))
      (i32.store (i32.const 772) (i32.const -1))
      (local.set $code (call $ws-poll (local.get $set) (i32.const 768)))
      (call $join (local.get $s) (i32.const 0))
      (call $ws-drop (local.get $set))
      (call $drop (local.get $s))
      (i32.add (local.get $code)
        (i32.add (i32.load (i32.const 768)) (i32.load (i32.const 772)))))
    (func (export "wait") (result i32)
      (local $s i32) (local $set i32)
      (local.set $s (call $open (i32.const 3)))
      (local.set $set (call $ws-new))
      (call $join (local.get $s) (local.get $set))
      (call $ws-wait (local.get $set) (i32.const 768)))
    (func (export "drop-joined-set") (result i32)
      (local $s i32) (local $set i32)
      (local.set $s (call $open (i32.const 3)))
      (local.set $set (call $ws-new))
      (call $join (local.get $s) (local.get $set))
      (call $ws-drop (local.get $set))
      (i32.const 0))
    (func (export "drop-subtask") (result i32)
      (call $subtask-drop (call $open (i32.const 3)))
      (i32.const 0))
    (func (export "context") (result i32)
      (local $before i32)
      (local.set $before (call $ctx-get))
      (call $ctx-set (i32.const 42))
      (i32.add (local.get $before) (call $ctx-get)))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "numbers" (func $numbers)) (export "answer" (func $answer)) (export "add" (func $add))
      (export "read" (func $read)) (export "drop" (func $drop))
      (export "read-bytes" (func $read-bytes))
      (export "fread" (func $fread)) (export "fdrop" (func $fdrop))
      (export "ws-new" (func $ws-new)) (export "ws-wait" (func $ws-wait))
      (export "ws-poll" (func $ws-poll)) (export "ws-drop" (func $ws-drop))
      (export "join" (func $join)) (export "subtask-drop" (func $subtask-drop))
      (export "ctx-get" (func $ctx-get)) (export "ctx-set" (func $ctx-set))))))
  (func (export "sum") (param "count" u32) (result u32) (canon lift (core func $i "sum")))
  (func (export "read-after-end") (result u32) (canon lift (core func $i "read-after-end")))
  (func (export "answer") (result u32) (canon lift (core func $i "answer")))
  (func (export "read-other-type") (result u32) (canon lift (core func $i "read-other-type")))
  (func (export "add") (result u32) (canon lift (core func $i "add")))
  (func (export "poll") (result u32) (canon lift (core func $i "poll")))
  (func (export "wait") (result u32) (canon lift (core func $i "wait")))
  (func (export "drop-joined-set") (result u32) (canon lift (core func $i "drop-joined-set")))
  (func (export "drop-subtask") (result u32) (canon lift (core func $i "drop-subtask")))
  (func (export "context") (result u32) (canon lift (core func $i "context")))
)
)wat";

class AsyncAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    HostImports& host = host_;
    auto& iface = host.interface("gyre:test/async").functions;
    iface["numbers"] = [](HostCall&,
                          std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
      std::vector<Val> values;
      for (uint32_t i = 1; i <= args[0].bits; ++i)
        values.push_back(Val::u32(i));
      return std::optional<Val>(Val::stream(std::move(values)));
    };
    iface["answer"] = [](HostCall&,
                         std::span<const Val>) -> Result<std::optional<Val>, std::string> {
      return std::optional<Val>(Val::future(Val::u32(42)));
    };
    iface["add"] = [](HostCall&,
                      std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
      uint64_t sum = 0;
      for (const Val& v : args)
        sum += v.bits;
      return std::optional<Val>(Val::u32(static_cast<uint32_t>(sum)));
    };
    auto guest = gyre::testing::instantiate_wat(*engine_, store_, kGuest, host_);
    ASSERT_TRUE(guest.instance);
    pre_ = guest.pre;
    instance_ = std::move(guest.instance);
  }

  // The export's u32, or "trap: <message>".
  std::string call(const char* name, std::vector<Val> args = {}) {
    auto result = instance_->call(*instance_->function(name), args);
    if (!result) return "trap: " + result.error().describe();
    return std::to_string((*result)->bits);
  }

  std::unique_ptr<wasm::Engine> engine_ = gyre::testing::test_engine(4);
  wasm::Store store_{*engine_};
  HostImports host_;
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<ComponentInstance> instance_;
};

// A call that returns at once says RETURNED (2), with its result in place.
TEST_F(AsyncAbi, AnAsyncLoweredCallReturnsAtOnce) {
  EXPECT_EQ(call("add"), "15");  // 1 + 2 + 3 + 4 + 5, read from the guest's memory
  EXPECT_EQ(call("answer"), "42");
}

// Reads of two values at a time: 1..5 take three reads and a fourth that says the
// writer is gone (DROPPED); an empty stream, the one read. The result is the sum plus
// 65536 per read.
TEST_F(AsyncAbi, AStreamDeliversEveryValueThenEnds) {
  EXPECT_EQ(call("sum", {Val::u32(5)}), std::to_string(15 + 4 * 65536));
  EXPECT_EQ(call("sum", {Val::u32(1)}), std::to_string(1 + 2 * 65536));
  EXPECT_EQ(call("sum", {Val::u32(0)}), std::to_string(65536));
}

TEST_F(AsyncAbi, ReadingAStreamAfterItsEndTraps) {
  const std::string got = call("read-after-end");
  EXPECT_NE(got.find("has already delivered its end"), std::string::npos) << got;
}

// A stream<u32> read as a stream<u8> traps, as the canonical ABI's type check does.
TEST_F(AsyncAbi, ReadingAStreamAsAnotherTypeTraps) {
  const std::string got = call("read-other-type");
  EXPECT_NE(got.find("is a stream or future of another type"), std::string::npos) << got;
}

// A stream the host filled, not read: polling finds no event, and waiting for one would
// never end (nothing outside the guest could make one).
TEST_F(AsyncAbi, PollFindsNothingAndWaitTraps) {
  EXPECT_EQ(call("poll"), "0");
  const std::string got = call("wait");
  EXPECT_NE(got.find("waitable-set.wait on a set of 1 waitables would never end"),
            std::string::npos)
      << got;
}

TEST_F(AsyncAbi, ASetStillJoinedCannotBeDropped) {
  const std::string got = call("drop-joined-set");
  EXPECT_NE(got.find("waitable-set.drop of a set that waitables still belong to"),
            std::string::npos)
      << got;
}

TEST_F(AsyncAbi, AStreamIsNotASubtask) {
  const std::string got = call("drop-subtask");
  EXPECT_NE(got.find("is not a subtask"), std::string::npos) << got;
}

// context.set / context.get hold a value for one task: each call starts from 0.
TEST_F(AsyncAbi, ContextIsPerTask) {
  EXPECT_EQ(call("context"), "42");
  EXPECT_EQ(call("context"), "42");
}

// The thread built-ins are not provided: a component using one fails to link (at start-up,
// before anything listens) with a message naming it, instead of running wrongly.
TEST(AsyncAbiLimits, ABuiltInGyreDoesNotProvideFailsToLink) {
  auto engine = gyre::testing::test_engine(4);
  HostImports none;
  auto pre = ComponentPre::create(*engine, gyre::testing::assemble(R"wat((component
    (core func $index (canon thread.index))
    (core module $m (import "h" "index" (func (result i32))))
    (core instance (instantiate $m (with "h" (instance (export "index" (func $index))))))
  ))wat"),
                                  none);
  ASSERT_FALSE(pre.ok());
  EXPECT_NE(pre.error().find("thread.index (0x26) is not supported yet"), std::string::npos)
      << pre.error();
}

}  // namespace
}  // namespace gyre::component
