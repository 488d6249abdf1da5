// Component-model async in the text format: async lifts (callback and task.return),
// streams and futures a guest makes, read and written by the guest itself and by the
// host with partial reads, host calls that stay pending (subtasks, their events and
// their cancellation), waitable sets that really wait, and the misuses that trap.
#include "component/concurrency/concurrency.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "support/wat_guest.hpp"
#include "wasm/engine.hpp"
#include "wasm/fiber.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

// Imports gyre:test/host: later(x) -> u32 (2x, 20 ms later), never() -> u32 (only ever
// cancelled), bytes() -> stream<u8> ("hello", written 20 ms after the call returned).
constexpr const char* kGuest = R"wat(
(component
  (import "gyre:test/host" (instance $h
    (export "later" (func async (param "x" u32) (result u32)))
    (export "never" (func async (result u32)))
    (export "bytes" (func async (result (stream u8))))
  ))
  (type $s (stream u8))
  (type $f (future u32))
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (alias export $h "later" (func $later))
  (alias export $h "never" (func $never))
  (alias export $h "bytes" (func $bytes))
  (core func $later-async (canon lower (func $later) async (memory $mem)))
  (core func $later-sync (canon lower (func $later)))
  (core func $never (canon lower (func $never) async (memory $mem)))
  (core func $bytes (canon lower (func $bytes) async (memory $mem)))
  (core func $s-new (canon stream.new $s))
  (core func $s-read (canon stream.read $s async (memory $mem)))
  (core func $s-read-sync (canon stream.read $s (memory $mem)))
  (core func $s-write (canon stream.write $s async (memory $mem)))
  (core func $s-cancel-read (canon stream.cancel-read $s))
  (core func $s-drop-r (canon stream.drop-readable $s))
  (core func $s-drop-w (canon stream.drop-writable $s))
  (core func $f-new (canon future.new $f))
  (core func $f-read (canon future.read $f async (memory $mem)))
  (core func $f-write (canon future.write $f async (memory $mem)))
  (core func $f-drop-r (canon future.drop-readable $f))
  (core func $f-drop-w (canon future.drop-writable $f))
  (core func $ws-new (canon waitable-set.new))
  (core func $ws-wait (canon waitable-set.wait (memory $mem)))
  (core func $ws-poll (canon waitable-set.poll (memory $mem)))
  (core func $ws-drop (canon waitable-set.drop))
  (core func $join (canon waitable.join))
  (core func $st-cancel (canon subtask.cancel))
  (core func $st-drop (canon subtask.drop))
  (core func $ret-s (canon task.return (result $s)))
  (core func $ret-u32 (canon task.return (result u32)))
  (core module $m
    (import "h" "later-async" (func $later-async (param i32 i32) (result i32)))
    (import "h" "later-sync" (func $later-sync (param i32) (result i32)))
    (import "h" "never" (func $never (param i32) (result i32)))
    (import "h" "bytes" (func $bytes (param i32) (result i32)))
    (import "h" "s-new" (func $s-new (result i64)))
    (import "h" "s-read" (func $s-read (param i32 i32 i32) (result i32)))
    (import "h" "s-read-sync" (func $s-read-sync (param i32 i32 i32) (result i32)))
    (import "h" "s-write" (func $s-write (param i32 i32 i32) (result i32)))
    (import "h" "s-cancel-read" (func $s-cancel-read (param i32) (result i32)))
    (import "h" "s-drop-r" (func $s-drop-r (param i32)))
    (import "h" "s-drop-w" (func $s-drop-w (param i32)))
    (import "h" "f-new" (func $f-new (result i64)))
    (import "h" "f-read" (func $f-read (param i32 i32) (result i32)))
    (import "h" "f-write" (func $f-write (param i32 i32) (result i32)))
    (import "h" "f-drop-r" (func $f-drop-r (param i32)))
    (import "h" "f-drop-w" (func $f-drop-w (param i32)))
    (import "h" "ws-new" (func $ws-new (result i32)))
    (import "h" "ws-wait" (func $ws-wait (param i32 i32) (result i32)))
    (import "h" "ws-poll" (func $ws-poll (param i32 i32) (result i32)))
    (import "h" "ws-drop" (func $ws-drop (param i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "h" "st-cancel" (func $st-cancel (param i32) (result i32)))
    (import "h" "st-drop" (func $st-drop (param i32)))
    (import "h" "ret-s" (func $ret-s (param i32)))
    (import "h" "ret-u32" (func $ret-u32 (param i32)))
    (import "libc" "mem" (memory 1))
    (data (i32.const 100) "0123456789")
    (global $w (mut i32) (i32.const 0))
    (global $set (mut i32) (i32.const 0))
    (global $written (mut i32) (i32.const 0))

    ;; produce: returns a stream at once (task.return), then writes "0123456789" into it
    ;; as fast as the host reads, waiting whenever its write is pending.
    (func $step (result i32)
      (local $status i32)
      (block $exit (loop $more
        (br_if $exit (i32.ge_u (global.get $written) (i32.const 10)))
        (local.set $status (call $s-write (global.get $w)
          (i32.add (i32.const 100) (global.get $written))
          (i32.sub (i32.const 10) (global.get $written))))
        (if (i32.eq (local.get $status) (i32.const -1))
          (then (return (i32.or (i32.const 2) (i32.shl (global.get $set) (i32.const 4))))))
        (global.set $written (i32.add (global.get $written)
          (i32.shr_u (local.get $status) (i32.const 4))))
        (br_if $exit (i32.eq (i32.and (local.get $status) (i32.const 15)) (i32.const 1)))
        (br $more)))
      (call $s-drop-w (global.get $w))
      (call $ws-drop (global.get $set))
      (i32.const 0))
    (func (export "produce") (result i32)
      (local $rw i64)
      (local.set $rw (call $s-new))
      (global.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
      (global.set $set (call $ws-new))
      (call $join (global.get $w) (global.get $set))
      (global.set $written (i32.const 0))
      (call $ret-s (i32.wrap_i64 (local.get $rw)))
      (call $step))
    (func (export "produce-cb") (param $code i32) (param $index i32) (param $payload i32) (result i32)
      (if (i32.ne (local.get $code) (i32.const 3)) (then unreachable))
      (global.set $written (i32.add (global.get $written)
        (i32.shr_u (local.get $payload) (i32.const 4))))
      (if (i32.eq (i32.and (local.get $payload) (i32.const 15)) (i32.const 1))
        (then (global.set $written (i32.const 10))))
      (call $step))

    ;; Yields once (callback code YIELD), then returns 7 from the callback.
    (func (export "yield") (result i32) (i32.const 1))
    (func (export "yield-cb") (param i32 i32 i32) (result i32)
      (if (i32.ne (local.get 0) (i32.const 0)) (then unreachable))
      (call $ret-u32 (i32.const 7))
      (i32.const 0))
    (func (export "return-twice") (result i32)
      (call $ret-u32 (i32.const 1))
      (call $ret-u32 (i32.const 2))
      (i32.const 0))
    (func (export "no-return") (result i32) (i32.const 0))
    (func (export "bad-code") (result i32) (i32.const 5))

    ;; later(21) lowered async: STARTED, then a SUBTASK event saying RETURNED; the
    ;; result, 42, is in memory by then.
    (func (export "later-async") (result i32)
      (local $status i32) (local $st i32) (local $set i32)
      (local.set $status (call $later-async (i32.const 21) (i32.const 256)))
      (if (i32.ne (i32.and (local.get $status) (i32.const 15)) (i32.const 1)) (then unreachable))
      (local.set $st (i32.shr_u (local.get $status) (i32.const 4)))
      (local.set $set (call $ws-new))
      (call $join (local.get $st) (local.get $set))
      (if (i32.ne (call $ws-wait (local.get $set) (i32.const 512)) (i32.const 1)) (then unreachable))
      (if (i32.ne (i32.load (i32.const 512)) (local.get $st)) (then unreachable))
      (if (i32.ne (i32.load (i32.const 516)) (i32.const 2)) (then unreachable))
      (call $st-drop (local.get $st))
      (call $ws-drop (local.get $set))
      (i32.load (i32.const 256)))
    (func (export "later-sync") (result i32) (call $later-sync (i32.const 21)))
    ;; never() cancelled: CANCELLED_BEFORE_RETURNED (4).
    (func (export "cancel-never") (result i32)
      (local $status i32) (local $st i32) (local $r i32)
      (local.set $status (call $never (i32.const 256)))
      (if (i32.ne (i32.and (local.get $status) (i32.const 15)) (i32.const 1)) (then unreachable))
      (local.set $st (i32.shr_u (local.get $status) (i32.const 4)))
      (local.set $r (call $st-cancel (local.get $st)))
      (call $st-drop (local.get $st))
      (local.get $r))
    (func (export "drop-pending-subtask") (result i32)
      (call $st-drop (i32.shr_u (call $never (i32.const 256)) (i32.const 4)))
      (i32.const 0))

    ;; Reads the host's stream to its end, waiting on a set: bytes read * 65536 + their sum.
    (func (export "read-host-bytes") (result i32)
      (local $h i32) (local $set i32) (local $status i32) (local $total i32) (local $sum i32)
      (local $i i32)
      (if (i32.ne (call $bytes (i32.const 256)) (i32.const 2)) (then unreachable))
      (local.set $h (i32.load (i32.const 256)))
      (local.set $set (call $ws-new))
      (call $join (local.get $h) (local.get $set))
      (block $done (loop $more
        (local.set $status (call $s-read (local.get $h)
          (i32.add (i32.const 1024) (local.get $total)) (i32.const 64)))
        (if (i32.eq (local.get $status) (i32.const -1)) (then
          (if (i32.ne (call $ws-wait (local.get $set) (i32.const 512)) (i32.const 2))
            (then unreachable))
          (local.set $status (i32.load (i32.const 516)))))
        (local.set $total (i32.add (local.get $total) (i32.shr_u (local.get $status) (i32.const 4))))
        (br_if $done (i32.eq (i32.and (local.get $status) (i32.const 15)) (i32.const 1)))
        (br $more)))
      (call $join (local.get $h) (i32.const 0))
      (call $s-drop-r (local.get $h))
      (call $ws-drop (local.get $set))
      (block $summed (loop $add
        (br_if $summed (i32.ge_u (local.get $i) (local.get $total)))
        (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (i32.const 1024) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $add)))
      (i32.add (i32.shl (local.get $total) (i32.const 16)) (local.get $sum)))

    ;; Both ends in the guest: a write of 3 waits, a read of 2 takes two of them, and the
    ;; writer's event says COMPLETED with 2 written. (code << 24) | (payload << 8) | read.
    (func (export "self-stream") (result i32)
      (local $rw i64) (local $r i32) (local $w i32) (local $read i32) (local $set i32) (local $code i32)
      (local.set $rw (call $s-new))
      (local.set $r (i32.wrap_i64 (local.get $rw)))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
      (if (i32.ne (call $s-write (local.get $w) (i32.const 100) (i32.const 3)) (i32.const -1))
        (then unreachable))
      (local.set $read (call $s-read-sync (local.get $r) (i32.const 200) (i32.const 2)))
      (if (i32.ne (i32.load16_u (i32.const 200)) (i32.const 0x3130)) (then unreachable))
      (local.set $set (call $ws-new))
      (call $join (local.get $w) (local.get $set))
      (local.set $code (call $ws-poll (local.get $set) (i32.const 512)))
      (call $join (local.get $w) (i32.const 0))
      (call $s-drop-w (local.get $w))
      (call $s-drop-r (local.get $r))
      (call $ws-drop (local.get $set))
      (i32.or (i32.or (i32.shl (local.get $code) (i32.const 24))
                      (i32.shl (i32.load (i32.const 516)) (i32.const 8)))
              (local.get $read)))
    ;; A future written (pending) then read: the value, plus 1000 * the writer's event code.
    (func (export "future") (result i32)
      (local $rw i64) (local $r i32) (local $w i32) (local $set i32) (local $code i32)
      (local.set $rw (call $f-new))
      (local.set $r (i32.wrap_i64 (local.get $rw)))
      (local.set $w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
      (i32.store (i32.const 300) (i32.const 77))
      (if (i32.ne (call $f-write (local.get $w) (i32.const 300)) (i32.const -1)) (then unreachable))
      (if (i32.ne (call $f-read (local.get $r) (i32.const 400)) (i32.const 0)) (then unreachable))
      (local.set $set (call $ws-new))
      (call $join (local.get $w) (local.get $set))
      (local.set $code (call $ws-poll (local.get $set) (i32.const 512)))
      (call $f-drop-w (local.get $w))
      (call $f-drop-r (local.get $r))
      (call $ws-drop (local.get $set))
      (i32.add (i32.mul (local.get $code) (i32.const 1000)) (i32.load (i32.const 400))))
    ;; A read nobody writes to, cancelled: CANCELLED (2), nothing read.
    (func (export "cancel-read") (result i32)
      (local $rw i64) (local $r i32) (local $c i32)
      (local.set $rw (call $s-new))
      (local.set $r (i32.wrap_i64 (local.get $rw)))
      (if (i32.ne (call $s-read (local.get $r) (i32.const 200) (i32.const 4)) (i32.const -1))
        (then unreachable))
      (local.set $c (call $s-cancel-read (local.get $r)))
      (call $s-drop-r (local.get $r))
      (call $s-drop-w (i32.wrap_i64 (i64.shr_u (local.get $rw) (i64.const 32))))
      (local.get $c))
    (func (export "drop-unwritten-future") (result i32)
      (call $f-drop-w (i32.wrap_i64 (i64.shr_u (call $f-new) (i64.const 32))))
      (i32.const 0))
    (func (export "read-writable-end") (result i32)
      (call $s-read (i32.wrap_i64 (i64.shr_u (call $s-new) (i64.const 32))) (i32.const 200) (i32.const 1)))
    (func (export "read-twice") (result i32)
      (local $r i32)
      (local.set $r (i32.wrap_i64 (call $s-new)))
      (drop (call $s-read (local.get $r) (i32.const 200) (i32.const 1)))
      (call $s-read (local.get $r) (i32.const 200) (i32.const 1)))
    ;; A set whose only member is a read of the guest's own stream: nothing can end it.
    (func (export "wait-forever") (result i32)
      (local $r i32) (local $set i32)
      (local.set $r (i32.wrap_i64 (call $s-new)))
      (drop (call $s-read (local.get $r) (i32.const 200) (i32.const 1)))
      (local.set $set (call $ws-new))
      (call $join (local.get $r) (local.get $set))
      (call $ws-wait (local.get $set) (i32.const 512)))
  )
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "later-async" (func $later-async)) (export "later-sync" (func $later-sync))
      (export "never" (func $never)) (export "bytes" (func $bytes))
      (export "s-new" (func $s-new)) (export "s-read" (func $s-read))
      (export "s-read-sync" (func $s-read-sync)) (export "s-write" (func $s-write))
      (export "s-cancel-read" (func $s-cancel-read))
      (export "s-drop-r" (func $s-drop-r)) (export "s-drop-w" (func $s-drop-w))
      (export "f-new" (func $f-new)) (export "f-read" (func $f-read)) (export "f-write" (func $f-write))
      (export "f-drop-r" (func $f-drop-r)) (export "f-drop-w" (func $f-drop-w))
      (export "ws-new" (func $ws-new)) (export "ws-wait" (func $ws-wait))
      (export "ws-poll" (func $ws-poll)) (export "ws-drop" (func $ws-drop))
      (export "join" (func $join)) (export "st-cancel" (func $st-cancel))
      (export "st-drop" (func $st-drop))
      (export "ret-s" (func $ret-s)) (export "ret-u32" (func $ret-u32))))))
  (func (export "produce") async (result $s)
    (canon lift (core func $i "produce") async (callback (core func $i "produce-cb"))))
  (func (export "yield") async (result u32)
    (canon lift (core func $i "yield") async (callback (core func $i "yield-cb"))))
  (func (export "return-twice") async (result u32)
    (canon lift (core func $i "return-twice") async (callback (core func $i "yield-cb"))))
  (func (export "no-return") async (result u32)
    (canon lift (core func $i "no-return") async (callback (core func $i "yield-cb"))))
  (func (export "bad-code") async (result u32)
    (canon lift (core func $i "bad-code") async (callback (core func $i "yield-cb"))))
  (func (export "later-async") (result u32) (canon lift (core func $i "later-async")))
  (func (export "later-sync") (result u32) (canon lift (core func $i "later-sync")))
  (func (export "cancel-never") (result u32) (canon lift (core func $i "cancel-never")))
  (func (export "drop-pending-subtask") (result u32) (canon lift (core func $i "drop-pending-subtask")))
  (func (export "read-host-bytes") (result u32) (canon lift (core func $i "read-host-bytes")))
  (func (export "self-stream") (result u32) (canon lift (core func $i "self-stream")))
  (func (export "future") (result u32) (canon lift (core func $i "future")))
  (func (export "cancel-read") (result u32) (canon lift (core func $i "cancel-read")))
  (func (export "drop-unwritten-future") (result u32) (canon lift (core func $i "drop-unwritten-future")))
  (func (export "read-writable-end") (result u32) (canon lift (core func $i "read-writable-end")))
  (func (export "read-twice") (result u32) (canon lift (core func $i "read-twice")))
  (func (export "wait-forever") (result u32) (canon lift (core func $i "wait-forever")))
)
)wat";

using namespace std::chrono_literals;

class Concurrent : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& iface = host_.interface("gyre:test/host").functions;
    iface["later"] = [this](HostCall& call,
                            std::span<const Val> args) -> Result<std::optional<Val>, std::string> {
      std::shared_ptr<PendingCall> pending = call.defer();
      const auto x = static_cast<uint32_t>(args[0].bits);
      std::shared_ptr<Scheduler> scheduler = call.instance.concurrency().shared_scheduler();
      threads_.emplace_back([pending, x, scheduler] {
        std::this_thread::sleep_for(20ms);
        scheduler->post([pending, x] { pending->resolve(Val::u32(2 * x)); });
      });
      return std::optional<Val>();
    };
    iface["never"] = [this](HostCall& call,
                            std::span<const Val>) -> Result<std::optional<Val>, std::string> {
      std::shared_ptr<PendingCall> pending = call.defer();
      PendingCall* raw = pending.get();
      pending->on_cancel([this, raw] {
        ++cancels_;
        raw->resolve_cancelled();
      });
      pending_.push_back(std::move(pending));
      return std::optional<Val>();
    };
    iface["bytes"] = [this](HostCall& call,
                            std::span<const Val>) -> Result<std::optional<Val>, std::string> {
      Concurrency& concurrency = call.instance.concurrency();
      auto [readable, writer] = concurrency.open(stream_u8_);
      auto held = std::make_shared<std::unique_ptr<HostEnd>>(std::move(writer));
      std::shared_ptr<Scheduler> scheduler = concurrency.shared_scheduler();
      scheduler->hold();
      threads_.emplace_back([held, scheduler] {
        std::this_thread::sleep_for(20ms);
        scheduler->post([held, raw = scheduler.get()] {
          std::vector<Val> hello;
          for (char c : std::string("hello"))
            hello.push_back(Val::u8(static_cast<uint8_t>(c)));
          feed(std::move(*held), std::move(hello));
          raw->release();
        });
      });
      return std::optional<Val>(std::move(readable));
    };
    auto guest = gyre::testing::instantiate_wat(*engine_, store_, kGuest, host_);
    ASSERT_TRUE(guest.instance);
    pre_ = guest.pre;
    instance_ = std::move(guest.instance);
  }

  void TearDown() override {
    for (auto& t : threads_)
      t.join();
  }

  // The export's u32, or "trap: <message>".
  std::string call(const char* name) {
    auto result = instance_->call(*instance_->function(name), {});
    if (!result) return "trap: " + result.error().describe();
    return std::to_string((*result)->bits);
  }

  static ValueType stream_of_u8() {
    ValueType t;
    t.kind = ValueKind::kStream;
    auto u8 = std::make_shared<ValueType>();
    u8->kind = ValueKind::kU8;
    t.types.push_back(std::move(u8));
    return t;
  }

  std::unique_ptr<wasm::Engine> engine_ = gyre::testing::test_engine(4);
  wasm::Store store_{*engine_};
  HostImports host_;
  ValueType stream_u8_ = stream_of_u8();
  std::vector<std::thread> threads_;
  std::vector<std::shared_ptr<PendingCall>> pending_;
  int cancels_ = 0;
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<ComponentInstance> instance_;
};

// The guest hands over its stream with task.return and then writes ten bytes; the host,
// reading four at a time as the guest writes, gets them all and then the end.
TEST_F(Concurrent, AGuestStreamIsReadByTheHostInPartsWhileTheTaskGoesOn) {
  std::vector<std::string> reads;
  std::unique_ptr<HostEnd> end;
  std::function<void()> read_more = [&] {
    end->read(4, [&](HostBuffer& got, CopyResult result) {
      if (result == CopyResult::kDropped) {
        reads.push_back("end");
        return;
      }
      reads.emplace_back(got.received_bytes());
      read_more();
    });
  };
  bool returned_before_exit = false;
  auto result =
      instance_->call(*instance_->function("produce"), {}, [&](const std::optional<Val>& stream) {
        returned_before_exit = true;
        end = instance_->concurrency().take(*stream);
        read_more();
      });
  ASSERT_TRUE(result.ok()) << result.error().describe();
  EXPECT_TRUE(returned_before_exit);
  EXPECT_EQ(reads, (std::vector<std::string>{"0123", "4567", "89", "end"}));
}

TEST_F(Concurrent, ACallbackThatYieldsGetsAnEventAndReturnsItsResult) {
  EXPECT_EQ(call("yield"), "7");
}

TEST_F(Concurrent, TaskReturnTwiceTraps) {
  EXPECT_NE(call("return-twice").find("task.return called twice"), std::string::npos);
}

TEST_F(Concurrent, ATaskThatExitsWithoutReturningTraps) {
  EXPECT_NE(call("no-return").find("exited without calling task.return"), std::string::npos);
}

TEST_F(Concurrent, AnInvalidCallbackCodeTraps) {
  EXPECT_NE(call("bad-code").find("invalid code 5"), std::string::npos);
}

// The host finishes `later` on another thread 20 ms after the guest called it: the guest
// holds a subtask meanwhile and waits for its event.
TEST_F(Concurrent, AnAsyncLoweredHostCallStaysPendingUntilTheHostFinishes) {
  EXPECT_EQ(call("later-async"), "42");
}

// A Suspender that parks the fiber and lets the test's loop resume it once woken.
struct ParkingSuspender final : Suspender {
  wasm::Fiber* fiber = nullptr;
  std::atomic<bool> woken{false};
  Wake waker() override {
    return [this] { woken = true; };
  }
  bool suspend(std::optional<Clock::time_point>) override { return fiber->park(); }
  bool suspend_on_sockets(std::span<const SocketInterest>,
                          std::optional<Clock::time_point>) override {
    return fiber->park();
  }
  void offload(const std::function<void()>& work) override { work(); }
};

// On a fiber, the guest's wait for the pending host call suspends the fiber: its thread
// comes back (resume() returns) until the host's completion wakes it.
TEST_F(Concurrent, AWaitOnAFiberGivesTheThreadBack) {
  ParkingSuspender suspender;
  instance_->concurrency().scheduler.set_suspender(&suspender);
  std::string got;
  wasm::Fiber fiber(store_, [&] { got = call("later-async"); });
  suspender.fiber = &fiber;
  int suspensions = 0;
  while (!fiber.resume()) {
    // A slow build (ASan) can reach an epoch tick while the guest computes: the fiber
    // yields, not parks, and nothing will wake it but the next resume.
    if (!fiber.parked()) continue;
    ++suspensions;
    while (!suspender.woken.exchange(false))
      std::this_thread::sleep_for(1ms);
    fiber.unpark();
  }
  EXPECT_EQ(got, "42");
  EXPECT_GE(suspensions, 1);
}

TEST_F(Concurrent, ASyncLoweredCallOfAPendingHostCallWaits) {
  EXPECT_EQ(call("later-sync"), "42");
}

TEST_F(Concurrent, CancellingAPendingHostCallAsksTheHostAndSaysCancelled) {
  EXPECT_EQ(call("cancel-never"), "4");  // CANCELLED_BEFORE_RETURNED
  EXPECT_EQ(cancels_, 1);
}

TEST_F(Concurrent, DroppingAPendingSubtaskTraps) {
  EXPECT_NE(call("drop-pending-subtask").find("was dropped before it resolved"), std::string::npos);
}

// "hello": 5 bytes, summing to 532.
TEST_F(Concurrent, AGuestReadsAHostStreamThatArrivesLater) {
  EXPECT_EQ(call("read-host-bytes"), std::to_string(5 * 65536 + 532));
}

// STREAM_WRITE (3), COMPLETED with 2 written (0x20), and the read's 2 (0x20).
TEST_F(Concurrent, BothEndsOfAStreamInOneGuestMeetHalfway) {
  EXPECT_EQ(call("self-stream"), std::to_string((3 << 24) | (0x20 << 8) | 0x20));
}

TEST_F(Concurrent, AFutureWrittenThenReadDeliversItsValue) {
  EXPECT_EQ(call("future"), "5077");  // FUTURE_WRITE (5) * 1000 + 77
}

TEST_F(Concurrent, ACancelledReadSaysCancelled) {
  EXPECT_EQ(call("cancel-read"), "2");
}

TEST_F(Concurrent, DroppingAFutureBeforeWritingItTraps) {
  EXPECT_NE(call("drop-unwritten-future").find("dropped before its value was written"),
            std::string::npos);
}

TEST_F(Concurrent, ReadingAWritableEndTraps) {
  EXPECT_NE(call("read-writable-end").find("is not a readable stream end"), std::string::npos);
}

TEST_F(Concurrent, ReadingAnEndThatIsCopyingTraps) {
  EXPECT_NE(call("read-twice").find("is already copying"), std::string::npos);
}

TEST_F(Concurrent, AWaitNothingCanEndTraps) {
  EXPECT_NE(call("wait-forever").find("would never end"), std::string::npos);
}

// An error context made by the guest reaches the host with its message; one the host
// passes in gives the guest that message back (error-context.debug-message).
TEST(ErrorContexts, CarryTheirMessageBetweenGuestAndHost) {
  constexpr const char* kWat = R"wat(
(component
  (core module $libc
    (memory (export "mem") 1)
    (global $next (mut i32) (i32.const 4096))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $at)))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
  (core func $new (canon error-context.new (memory $mem)))
  (core func $message (canon error-context.debug-message (memory $mem) (realloc $realloc)))
  (core func $drop (canon error-context.drop))
  (core module $m
    (import "h" "new" (func $new (param i32 i32) (result i32)))
    (import "h" "message" (func $message (param i32 i32)))
    (import "h" "drop" (func $drop (param i32)))
    (import "libc" "mem" (memory 1))
    (data (i32.const 100) "oops")
    (func (export "make") (result i32) (call $new (i32.const 100) (i32.const 4)))
    ;; The message's first byte, plus 256 * its length.
    (func (export "first") (param $e i32) (result i32)
      (call $message (local.get $e) (i32.const 200))
      (call $drop (local.get $e))
      (i32.add (i32.load8_u (i32.load (i32.const 200)))
               (i32.shl (i32.load (i32.const 204)) (i32.const 8)))))
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance (export "new" (func $new)) (export "message" (func $message))
                        (export "drop" (func $drop))))))
  (func (export "make") (result error-context) (canon lift (core func $i "make")))
  (func (export "first") (param "e" error-context) (result u32) (canon lift (core func $i "first")))
)
)wat";
  auto engine = gyre::testing::test_engine(4);
  wasm::Store store(*engine);
  HostImports none;
  auto guest = gyre::testing::instantiate_wat(*engine, store, kWat, none);
  ASSERT_TRUE(guest.instance);
  auto made = guest.instance->call(*guest.instance->function("make"), {});
  ASSERT_TRUE(made.ok()) << made.error().describe();
  EXPECT_EQ((*made)->kind, ValueKind::kErrorContext);
  EXPECT_EQ((*made)->bytes, "oops");

  Val from_host;
  from_host.kind = ValueKind::kErrorContext;
  from_host.bytes = "Zebra";
  const Val args[] = {from_host};
  auto first = guest.instance->call(*guest.instance->function("first"), args);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  EXPECT_EQ((*first)->bits, uint64_t{'Z'} + 5 * 256);
}

}  // namespace
}  // namespace gyre::component
