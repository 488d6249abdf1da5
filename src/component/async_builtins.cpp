#include "component/async_builtins.hpp"

#include <algorithm>
#include <string>

#include "component/concurrency/concurrency.hpp"
#include "component/concurrency/error_context.hpp"
#include "component/layout.hpp"

namespace gyre::component {

namespace {

using wasm::RawValue;

// Opcodes of Binary.md's canon section.
enum : uint8_t {
  kTaskCancel = 0x05,
  kSubtaskCancel = 0x06,
  kTaskReturn = 0x09,
  kContextGet = 0x0a,
  kContextSet = 0x0b,
  kThreadYield = 0x0c,
  kSubtaskDrop = 0x0d,
  kStreamNew = 0x0e,
  kStreamRead = 0x0f,
  kStreamWrite = 0x10,
  kStreamCancelRead = 0x11,
  kStreamCancelWrite = 0x12,
  kStreamDropReadable = 0x13,
  kStreamDropWritable = 0x14,
  kFutureNew = 0x15,
  kFutureRead = 0x16,
  kFutureWrite = 0x17,
  kFutureCancelRead = 0x18,
  kFutureCancelWrite = 0x19,
  kFutureDropReadable = 0x1a,
  kFutureDropWritable = 0x1b,
  kErrorContextNew = 0x1c,
  kErrorContextDebugMessage = 0x1d,
  kErrorContextDrop = 0x1e,
  kWaitableSetNew = 0x1f,
  kWaitableSetWait = 0x20,
  kWaitableSetPoll = 0x21,
  kWaitableSetDrop = 0x22,
  kWaitableJoin = 0x23,
  kBackpressureInc = 0x24,
  kBackpressureDec = 0x25,
};

constexpr uint32_t kBlocked = 0xffff'ffff;

[[noreturn]] void trap(std::string message) {
  throw AbiTrap{std::move(message)};
}

uint32_t arg(std::span<const RawValue> slots, size_t i) {
  return static_cast<uint32_t>(slots[i].i32);
}

std::string handle_name(uint32_t index) {
  return "handle " + std::to_string(index);
}

HandleEntry& entry_of(const CanonContext& cx, uint32_t index, HandleKind kind, const char* what) {
  HandleEntry* entry = cx.handles->get(index);
  if (entry == nullptr || entry->kind != kind) trap(handle_name(index) + " is not " + what);
  return *entry;
}

template <class T>
T& object_of(const CanonContext& cx, uint32_t index, HandleKind kind, const char* what) {
  return static_cast<T&>(*entry_of(cx, index, kind, what).object);
}

uint32_t add(const CanonContext& cx, HandleKind kind, std::shared_ptr<AsyncObject> object) {
  HandleEntry entry;
  entry.kind = kind;
  entry.object = std::move(object);
  auto index = cx.handles->add(std::move(entry));
  if (!index) trap("the handle table is full");
  return *index;
}

// ---- streams and futures ---------------------------------------------------------------

struct EndKind {
  bool future;
  bool readable;
  HandleKind kind() const {
    if (future) return readable ? HandleKind::kReadableFuture : HandleKind::kWritableFuture;
    return readable ? HandleKind::kReadableStream : HandleKind::kWritableStream;
  }
  const char* what() const {
    if (future) return readable ? "a readable future end" : "a writable future end";
    return readable ? "a readable stream end" : "a writable stream end";
  }
  EventCode event() const {
    if (future) return readable ? EventCode::kFutureRead : EventCode::kFutureWrite;
    return readable ? EventCode::kStreamRead : EventCode::kStreamWrite;
  }
};

// End `index` of kind `k`, of the built-in's type (CanonicalABI.md's
// trap_if(e.shared.t != stream_t.t)).
CopyEnd& end_of(const CanonContext& cx, uint32_t index, EndKind k, const ValueType* type) {
  auto& end = object_of<CopyEnd>(cx, index, k.kind(), k.what());
  if (type != nullptr && !same_type(*end.shared->type(), *type))
    trap(handle_name(index) + " is a stream or future of another type");
  return end;
}

uint64_t channel_new(const CanonContext& cx, const ValueType* type, bool future) {
  auto shared = std::make_shared<SharedChannel>(type);
  const uint32_t r = add(cx, EndKind{future, true}.kind(), std::make_shared<CopyEnd>(shared, true));
  const uint32_t w =
      add(cx, EndKind{future, false}.kind(), std::make_shared<CopyEnd>(shared, false));
  return r | (uint64_t{w} << 32);
}

// The event that ends a copy of `end`; made when the guest collects it.
Event copy_event(CopyEnd& end, EndKind k, CopyResult result) {
  const uint32_t progress = end.buffer ? end.buffer->progress : 0;
  end.buffer.reset();
  const bool finished =
      result == CopyResult::kDropped || (k.future && result == CopyResult::kCompleted);
  end.state = finished ? CopyState::kDone : CopyState::kIdle;
  const uint32_t payload = static_cast<uint32_t>(result) | (k.future ? 0 : progress << 4);
  return Event{k.event(), end.index, payload};
}

// Waits, for a synchronous built-in, until `w` has its event.
void wait_for(Concurrency& c, Waitable& w, const char* what) {
  w.has_sync_waiter = true;
  struct Clear {
    Waitable& w;
    ~Clear() { w.has_sync_waiter = false; }
  } clear{w};
  c.scheduler.wait_until([&] { return w.has_pending_event(); }, what);
}

// stream.read / stream.write / future.read / future.write.
uint32_t copy(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx, Concurrency& c,
              std::span<const RawValue> slots, EndKind k) {
  const uint32_t index = arg(slots, 0);
  CopyEnd& end = end_of(cx, index, k, type);
  if (end.state == CopyState::kDone) trap(handle_name(index) + " has already delivered its end");
  if (end.state != CopyState::kIdle) trap(handle_name(index) + " is already copying");
  if (end.set() != nullptr && !b.options.async)
    trap("a synchronous read or write of a stream or future in a waitable set");
  const uint32_t n = k.future ? 1 : arg(slots, 2);
  end.buffer = std::make_unique<GuestBuffer>(cx, end.shared->element(), arg(slots, 1), n);
  end.state = CopyState::kCopying;
  CopyEnd* e = &end;  // the callbacks are forgotten if the end goes first (~CopyEnd)
  auto on_copy = [e, k](std::function<void()> reclaim) {
    e->set_pending_event([e, k, reclaim = std::move(reclaim)] {
      reclaim();
      return copy_event(*e, k, CopyResult::kCompleted);
    });
  };
  auto on_done = [e, k](CopyResult result) {
    e->set_pending_event([e, k, result] { return copy_event(*e, k, result); });
  };
  const void* side = cx.handles;  // one instance's ends share its table
  end.shared->copy(k.readable, side, *end.buffer, on_copy, on_done);
  if (!end.has_pending_event()) {
    if (b.options.async) return kBlocked;
    wait_for(c, end, "a synchronous stream or future copy");
  }
  return end.take_pending_event().payload;
}

uint32_t cancel_copy(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                     Concurrency& c, uint32_t index, EndKind k) {
  CopyEnd& end = end_of(cx, index, k, type);
  if (end.state != CopyState::kCopying || end.has_sync_waiter)
    trap(handle_name(index) + " has no copy in progress to cancel");
  if (end.set() != nullptr && !b.flag) trap("a synchronous cancel of a copy in a waitable set");
  end.state = CopyState::kCancelling;
  if (!end.has_pending_event()) {
    end.shared->cancel();
    if (!end.has_pending_event()) {
      if (b.flag) return kBlocked;
      wait_for(c, end, "a synchronous cancel of a copy");
    }
  }
  return end.take_pending_event().payload;
}

void drop_end(const ValueType* type, const CanonContext& cx, uint32_t index, EndKind k) {
  CopyEnd& end = end_of(cx, index, k, type);
  if (end.copying()) trap(handle_name(index) + " cannot be dropped while it copies");
  if (k.future && !k.readable && end.state != CopyState::kDone)
    trap("the writable end of a future was dropped before its value was written");
  cx.handles->remove(index);  // ~CopyEnd tells the other end
}

// ---- subtasks, waitables and sets --------------------------------------------------------

Subtask& subtask_of(const CanonContext& cx, uint32_t index) {
  return object_of<Subtask>(cx, index, HandleKind::kSubtask, "a subtask");
}

uint32_t subtask_cancel(const CanonBuiltin& b, const CanonContext& cx, Concurrency& c,
                        uint32_t index) {
  Subtask& s = subtask_of(cx, index);
  if (s.resolve_delivered) trap("subtask " + std::to_string(index) + " has already resolved");
  if (s.cancellation_requested)
    trap("subtask " + std::to_string(index) + " was already asked to cancel");
  if (s.set() != nullptr && !b.flag) trap("a synchronous subtask.cancel of a subtask in a set");
  if (!s.resolved()) {
    s.cancellation_requested = true;
    if (s.request_cancel) s.request_cancel();
    if (!s.resolved()) {
      if (b.flag) return kBlocked;
      wait_for(c, s, "a synchronous subtask.cancel");
    }
  }
  s.take_pending_event();
  return s.state;
}

Waitable& waitable_of(const CanonContext& cx, uint32_t index) {
  HandleEntry* w = cx.handles->get(index);
  if (w == nullptr || w->kind == HandleKind::kResource || w->kind == HandleKind::kWaitableSet ||
      w->kind == HandleKind::kErrorContext) {
    trap(handle_name(index) + " is not a waitable");
  }
  return static_cast<Waitable&>(*w->object);
}

WaitableSet& set_of(const CanonContext& cx, uint32_t index) {
  return object_of<WaitableSet>(cx, index, HandleKind::kWaitableSet, "a waitable set");
}

void join(const CanonContext& cx, uint32_t waitable, uint32_t set) {
  Waitable& w = waitable_of(cx, waitable);
  if (w.has_sync_waiter) trap(handle_name(waitable) + " has a synchronous waiter");
  w.join(set == 0 ? nullptr : &set_of(cx, set));
}

// Writes an event's two words at `ptr` and returns its code.
uint32_t deliver(const CanonContext& cx, uint32_t ptr, const Event& event) {
  if (!cx.memory) trap("the canonical option `memory` is required here but was not given");
  if (ptr % 4 != 0 || uint64_t{ptr} + 8 > cx.memory_view().size())
    trap("event pointer " + std::to_string(ptr) + " is misaligned or out of range");
  uint8_t* at = cx.memory_view().data() + ptr;
  for (int i = 0; i < 4; ++i) {
    at[i] = static_cast<uint8_t>(event.index >> (8 * i));
    at[4 + i] = static_cast<uint8_t>(event.payload >> (8 * i));
  }
  return static_cast<uint32_t>(event.code);
}

uint32_t wait(const CanonContext& cx, Concurrency& c, uint32_t set, uint32_t ptr) {
  WaitableSet& s = set_of(cx, set);
  ++s.waiting;
  struct Done {
    WaitableSet& s;
    ~Done() { --s.waiting; }
  } done{s};
  c.scheduler.wait_until(
      [&] { return s.has_pending_event(); },
      "waitable-set.wait on a set of " + std::to_string(s.size()) + " waitables");
  const Event event = s.take_pending_event();
  cx.forget_memory();  // posted host work may have run the guest's realloc
  return deliver(cx, ptr, event);
}

uint32_t poll(const CanonContext& cx, Concurrency& c, uint32_t set, uint32_t ptr) {
  WaitableSet& s = set_of(cx, set);
  c.scheduler.run_posted();
  cx.forget_memory();
  return deliver(cx, ptr, s.has_pending_event() ? s.take_pending_event() : Event{});
}

// ---- tasks -------------------------------------------------------------------------------

void task_return(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                 Concurrency& c, std::span<const RawValue> slots) {
  if (c.tasks.empty()) trap("task.return outside a task");
  TaskState& task = c.current_task();
  if (!task.async) trap("task.return called by a task whose function was not lifted async");
  if (task.returned) trap("task.return called twice");
  const ValueType* expected = task.type->result.get();
  if ((type == nullptr) != (expected == nullptr) ||
      (type != nullptr && !same_type(*type, *expected))) {
    trap("task.return's result type is not the type of the task's function");
  }
  if (b.options.string_encoding != task.encoding)
    trap("task.return's options are not those of the task's lift");
  std::optional<Val> result;
  if (type != nullptr) {
    std::span<const CoreKind> flat = flat_types(*type);
    if (flat.size() > kMaxFlatParams) {
      result = load(cx, arg(slots, 0), *type);
    } else {
      FlatReader reader(slots.subspan(0, flat.size()), flat);
      result = lift_flat(cx, reader, *type);
    }
  }
  task.returned = true;
  task.result = std::move(result);
  if (task.on_return) task.on_return(task.result);
}

uint32_t error_context_new(const CanonContext& cx, std::span<const RawValue> slots) {
  auto error = std::make_shared<ErrorContext>();
  static const ValueType kString{ValueKind::kString};
  // Lifted like a string argument: pointer and length in code units.
  std::vector<RawValue> flat{slots[0], slots[1]};
  const CoreKind kinds[] = {CoreKind::kI32, CoreKind::kI32};
  FlatReader reader(flat, kinds);
  error->message = lift_flat(cx, reader, kString).bytes;
  return add(cx, HandleKind::kErrorContext, std::move(error));
}

void error_context_debug_message(const CanonContext& cx, uint32_t index, uint32_t ptr) {
  auto& error = object_of<ErrorContext>(cx, index, HandleKind::kErrorContext, "an error context");
  static const ValueType kString{ValueKind::kString};
  store(cx, Val::string(error.message), kString, ptr);
}

}  // namespace

std::string async_builtin_name(uint8_t opcode) {
  // Binary.md's canon opcodes from task.cancel (0x05) to thread.yield-then-promote (0x2d).
  static constexpr const char* kNames[] = {"task.cancel",
                                           "subtask.cancel",
                                           "unassigned",
                                           "unassigned",
                                           "task.return",
                                           "context.get",
                                           "context.set",
                                           "thread.yield",
                                           "subtask.drop",
                                           "stream.new",
                                           "stream.read",
                                           "stream.write",
                                           "stream.cancel-read",
                                           "stream.cancel-write",
                                           "stream.drop-readable",
                                           "stream.drop-writable",
                                           "future.new",
                                           "future.read",
                                           "future.write",
                                           "future.cancel-read",
                                           "future.cancel-write",
                                           "future.drop-readable",
                                           "future.drop-writable",
                                           "error-context.new",
                                           "error-context.debug-message",
                                           "error-context.drop",
                                           "waitable-set.new",
                                           "waitable-set.wait",
                                           "waitable-set.poll",
                                           "waitable-set.drop",
                                           "waitable.join",
                                           "backpressure.inc",
                                           "backpressure.dec",
                                           "thread.index",
                                           "thread.new-indirect",
                                           "thread.resume-later",
                                           "thread.suspend",
                                           "thread.suspend-then-resume",
                                           "thread.yield-then-resume",
                                           "thread.suspend-then-promote",
                                           "thread.yield-then-promote"};
  std::string name = "canonical built-in";
  if (opcode >= 0x05 && static_cast<size_t>(opcode - 0x05) < std::size(kNames))
    name = kNames[opcode - 0x05];
  if (opcode >= 0x40 && opcode <= 0x42) name = "a shared-everything thread built-in";
  static constexpr char kHex[] = "0123456789abcdef";
  return name + " (0x" + kHex[opcode >> 4] + kHex[opcode & 15] + ")";
}

std::optional<uint32_t> async_builtin_memory(const CanonBuiltin& b) {
  if (b.opcode == kWaitableSetWait || b.opcode == kWaitableSetPoll) return b.second;
  return b.options.memory;
}

std::optional<wasm::FuncType> async_builtin_signature(const CanonBuiltin& b,
                                                      const ValueType* type) {
  const wasm::ValType i = wasm::ValType::kI32;
  switch (b.opcode) {
    case kContextGet:
    case kContextSet:
      // i64 slots exist only with 64-bit memories; two slots per task.
      if (!b.core_type || b.core_type->code != 0x7f || !b.second || *b.second >= 2)
        return std::nullopt;
      if (b.opcode == kContextGet) return wasm::FuncType{{}, {i}};
      return wasm::FuncType{{i}, {}};
    case kTaskReturn: {
      if (type == nullptr) return wasm::FuncType{{}, {}};
      std::span<const CoreKind> flat = flat_types(*type);
      if (flat.size() > kMaxFlatParams) return wasm::FuncType{{i}, {}};
      return wasm::FuncType{std::vector<CoreKind>(flat.begin(), flat.end()), {}};
    }
    case kTaskCancel:
    case kBackpressureInc:
    case kBackpressureDec:
      return wasm::FuncType{{}, {}};
    case kThreadYield:
    case kWaitableSetNew:
      return wasm::FuncType{{}, {i}};
    case kStreamNew:
    case kFutureNew:
      return wasm::FuncType{{}, {wasm::ValType::kI64}};
    case kSubtaskCancel:
    case kStreamCancelRead:
    case kStreamCancelWrite:
    case kFutureCancelRead:
    case kFutureCancelWrite:
      return wasm::FuncType{{i}, {i}};
    case kSubtaskDrop:
    case kStreamDropReadable:
    case kStreamDropWritable:
    case kFutureDropReadable:
    case kFutureDropWritable:
    case kWaitableSetDrop:
    case kErrorContextDrop:
      return wasm::FuncType{{i}, {}};
    case kStreamRead:
    case kStreamWrite:
      return wasm::FuncType{{i, i, i}, {i}};
    case kFutureRead:
    case kFutureWrite:
    case kWaitableSetWait:
    case kWaitableSetPoll:
    case kErrorContextNew:
      return wasm::FuncType{{i, i}, {i}};
    case kWaitableJoin:
    case kErrorContextDebugMessage:
      return wasm::FuncType{{i, i}, {}};
    default:
      return std::nullopt;
  }
}

void run_async_builtin(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                       Concurrency& c, std::span<RawValue> slots) {
  auto result = [&](uint32_t v) { slots[0] = RawValue::from_i32(static_cast<int32_t>(v)); };
  const bool future = b.opcode >= kFutureNew && b.opcode <= kFutureDropWritable;
  switch (b.opcode) {
    case kContextGet:
      if (c.tasks.empty()) trap("context.get outside a task");
      return result(c.current_task().context[*b.second]);
    case kContextSet:
      if (c.tasks.empty()) trap("context.set outside a task");
      c.current_task().context[*b.second] = arg(slots, 0);
      return;
    case kTaskReturn:
      return task_return(b, type, cx, c, slots);
    case kTaskCancel: {
      if (c.tasks.empty()) trap("task.cancel outside a task");
      TaskState& task = c.current_task();
      if (!task.cancel_delivered) trap("task.cancel by a task that was not cancelled");
      if (task.returned) trap("task.cancel after the task returned");
      task.returned = true;  // resolved, without a result
      if (task.on_cancel) task.on_cancel();
      return;
    }
    case kThreadYield:
      c.scheduler.run_posted();
      c.scheduler.run_other();
      return result(0);  // not cancelled
    case kBackpressureInc:
      if (++c.backpressure == (1u << 16)) trap("backpressure.inc past its limit");
      return;
    case kBackpressureDec:
      if (c.backpressure == 0) trap("backpressure.dec below zero");
      --c.backpressure;
      return;
    case kSubtaskCancel:
      return result(subtask_cancel(b, cx, c, arg(slots, 0)));
    case kSubtaskDrop: {
      const uint32_t index = arg(slots, 0);
      if (!subtask_of(cx, index).resolve_delivered)
        trap("subtask " + std::to_string(index) + " was dropped before it resolved");
      cx.handles->remove(index);
      return;
    }
    case kStreamNew:
    case kFutureNew:
      slots[0] = RawValue::from_i64(static_cast<int64_t>(channel_new(cx, type, future)));
      return;
    case kStreamRead:
    case kStreamWrite:
    case kFutureRead:
    case kFutureWrite:
      return result(copy(b, type, cx, c, slots,
                         EndKind{future, b.opcode == kStreamRead || b.opcode == kFutureRead}));
    case kStreamCancelRead:
    case kStreamCancelWrite:
    case kFutureCancelRead:
    case kFutureCancelWrite:
      return result(cancel_copy(
          b, type, cx, c, arg(slots, 0),
          EndKind{future, b.opcode == kStreamCancelRead || b.opcode == kFutureCancelRead}));
    case kStreamDropReadable:
    case kStreamDropWritable:
    case kFutureDropReadable:
    case kFutureDropWritable:
      return drop_end(
          type, cx, arg(slots, 0),
          EndKind{future, b.opcode == kStreamDropReadable || b.opcode == kFutureDropReadable});
    case kErrorContextNew:
      return result(error_context_new(cx, slots));
    case kErrorContextDebugMessage:
      return error_context_debug_message(cx, arg(slots, 0), arg(slots, 1));
    case kErrorContextDrop:
      entry_of(cx, arg(slots, 0), HandleKind::kErrorContext, "an error context");
      cx.handles->remove(arg(slots, 0));
      return;
    case kWaitableSetNew:
      return result(add(cx, HandleKind::kWaitableSet, std::make_shared<WaitableSet>()));
    case kWaitableSetDrop: {
      const uint32_t index = arg(slots, 0);
      const WaitableSet& set = set_of(cx, index);
      if (set.size() != 0) trap("waitable-set.drop of a set that waitables still belong to");
      if (set.waiting != 0) trap("waitable-set.drop of a set a task waits on");
      cx.handles->remove(index);
      return;
    }
    case kWaitableJoin:
      return join(cx, arg(slots, 0), arg(slots, 1));
    case kWaitableSetWait:
      return result(wait(cx, c, arg(slots, 0), arg(slots, 1)));
    case kWaitableSetPoll:
      return result(poll(cx, c, arg(slots, 0), arg(slots, 1)));
    default:
      trap(async_builtin_name(b.opcode) + " is not provided");
  }
}

}  // namespace gyre::component
