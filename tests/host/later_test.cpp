// Async host functions in the typed bindings: a C++ function that returns host::Later<T>
// and resolves it from another thread, as a guest sees it when it lowers the call
// synchronously (it waits) or async (it holds a subtask and waits on a set).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "host/define.hpp"
#include "support/engine.hpp"
#include "support/wat_guest.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::host {
namespace {

using namespace std::chrono_literals;

// Imports gyre:test/slow.answer(x) -> u32, lowered both ways; exports sync(x) and
// async(x), which return what answer returned.
constexpr const char* kGuest = R"wat(
(component
  (import "gyre:test/slow" (instance $h
    (export "answer" (func async (param "x" u32) (result u32)))
  ))
  (core module $libc (memory (export "mem") 1))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "mem" (core memory $mem))
  (alias export $h "answer" (func $answer))
  (core func $answer-sync (canon lower (func $answer)))
  (core func $answer-async (canon lower (func $answer) async (memory $mem)))
  (core func $ws-new (canon waitable-set.new))
  (core func $ws-wait (canon waitable-set.wait (memory $mem)))
  (core func $join (canon waitable.join))
  (core module $m
    (import "h" "answer-sync" (func $answer-sync (param i32) (result i32)))
    (import "h" "answer-async" (func $answer-async (param i32 i32) (result i32)))
    (import "h" "ws-new" (func $ws-new (result i32)))
    (import "h" "ws-wait" (func $ws-wait (param i32 i32) (result i32)))
    (import "h" "join" (func $join (param i32 i32)))
    (import "libc" "mem" (memory 1))
    (func (export "sync") (param i32) (result i32) (call $answer-sync (local.get 0)))
    (func (export "async") (param $x i32) (result i32)
      (local $status i32) (local $set i32)
      (local.set $status (call $answer-async (local.get $x) (i32.const 256)))
      (if (i32.ne (i32.and (local.get $status) (i32.const 15)) (i32.const 1)) (then unreachable))
      (local.set $set (call $ws-new))
      (call $join (i32.shr_u (local.get $status) (i32.const 4)) (local.get $set))
      (if (i32.ne (call $ws-wait (local.get $set) (i32.const 512)) (i32.const 1)) (then unreachable))
      (i32.load (i32.const 256))))
  (core instance $i (instantiate $m
    (with "libc" (instance $libc))
    (with "h" (instance
      (export "answer-sync" (func $answer-sync)) (export "answer-async" (func $answer-async))
      (export "ws-new" (func $ws-new)) (export "ws-wait" (func $ws-wait))
      (export "join" (func $join))))))
  (func (export "sync") (param "x" u32) (result u32) (canon lift (core func $i "sync")))
  (func (export "async") (param "x" u32) (result u32) (canon lift (core func $i "async")))
)
)wat";

class LaterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& t : threads_)
      t.join();
  }

  // Serves answer(x) with `finish`, run on the guest's thread 10 ms after the call
  // returned; then calls `name`(41).
  std::string call(const char* name, std::function<void(const Later<uint32_t>&, uint32_t)> finish) {
    component::HostImports host;
    define(host, "gyre:test/slow", "answer", [&](Context& cx, uint32_t x) -> Later<uint32_t> {
      Later<uint32_t> later(cx);
      threads_.emplace_back([later, x, finish] {
        std::this_thread::sleep_for(10ms);
        later.post([later, x, finish] { finish(later, x); });
      });
      return later;
    });
    auto guest = gyre::testing::instantiate_wat(*engine_, store_, kGuest, host);
    if (!guest.instance) return "no instance";
    const component::Val args[] = {component::Val::u32(41)};
    auto result = guest.instance->call(*guest.instance->function(name), args);
    if (!result) return "trap: " + result.error().describe();
    return std::to_string((*result)->bits);
  }

  std::unique_ptr<wasm::Engine> engine_ = gyre::testing::test_engine(4);
  wasm::Store store_{*engine_};
  std::vector<std::thread> threads_;
};

auto plus_one = [](const Later<uint32_t>& later, uint32_t x) { later.resolve(x + 1); };

TEST_F(LaterTest, ASyncLoweredCallWaitsForTheResult) {
  EXPECT_EQ(call("sync", plus_one), "42");
}

TEST_F(LaterTest, AnAsyncLoweredCallHoldsASubtaskUntilTheResult) {
  EXPECT_EQ(call("async", plus_one), "42");
}

TEST_F(LaterTest, AFailedCallTrapsTheGuestWithTheMessage) {
  const std::string got =
      call("sync", [](const Later<uint32_t>& later, uint32_t) { later.fail("no answer today"); });
  EXPECT_NE(got.find("no answer today"), std::string::npos) << got;
}

}  // namespace
}  // namespace gyre::host
