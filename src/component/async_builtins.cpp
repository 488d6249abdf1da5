#include "component/async_builtins.hpp"

#include <algorithm>
#include <string>

#include "component/layout.hpp"

namespace gyre::component {

namespace {

using wasm::RawValue;

// Opcodes of Binary.md's canon section.
enum : uint8_t {
  kSubtaskCancel = 0x06,
  kContextGet = 0x0a,
  kContextSet = 0x0b,
  kThreadYield = 0x0c,
  kSubtaskDrop = 0x0d,
  kStreamRead = 0x0f,
  kStreamCancelRead = 0x11,
  kStreamDropReadable = 0x13,
  kFutureRead = 0x16,
  kFutureCancelRead = 0x18,
  kFutureDropReadable = 0x1a,
  kWaitableSetNew = 0x1f,
  kWaitableSetWait = 0x20,
  kWaitableSetPoll = 0x21,
  kWaitableSetDrop = 0x22,
  kWaitableJoin = 0x23,
  kBackpressureInc = 0x24,
  kBackpressureDec = 0x25,
};

// Results of a copy (CopyResult), packed with the number of values copied.
constexpr uint32_t kCompleted = 0;
constexpr uint32_t kDropped = 1;
constexpr uint32_t kMaxBufferLength = (1u << 28) - 1;

[[noreturn]] void trap(std::string message) {
  throw AbiTrap{std::move(message)};
}

uint32_t arg(std::span<const RawValue> slots, size_t i) {
  return static_cast<uint32_t>(slots[i].i32);
}

// What a stream or future type carries (null: nothing).
const ValueType* element_of(const ValueType* channel) {
  return channel != nullptr && !channel->types.empty() ? channel->types[0].get() : nullptr;
}

HandleEntry& entry_of(const CanonContext& cx, uint32_t index, HandleKind kind, const char* what) {
  HandleEntry* entry = cx.handles->get(index);
  if (entry == nullptr || entry->kind != kind) {
    trap("handle " + std::to_string(index) + " is not " + what);
  }
  return *entry;
}

// Checks a guest buffer of `count` values of `element` (none: values without a type).
void check_buffer(const CanonContext& cx, const ValueType* element, uint32_t ptr, uint32_t count) {
  if (count > kMaxBufferLength)
    trap("a buffer of " + std::to_string(count) + " values is too long");
  if (element != nullptr && count != 0) check_elements(cx, ptr, count, *element, "buffer");
}

// A readable stream or future end, of the built-in's type `channel` (CanonicalABI.md's
// trap_if(e.shared.t != stream_t.t)).
HandleEntry& end_of(const CanonContext& cx, uint32_t index, HandleKind kind,
                    const ValueType* channel) {
  HandleEntry& end = entry_of(
      cx, index, kind,
      kind == HandleKind::kReadableStream ? "a readable stream end" : "a readable future end");
  if (channel != nullptr && end.channel_type != nullptr && !same_type(*end.channel_type, *channel))
    trap("handle " + std::to_string(index) + " is a stream or future of another type");
  return end;
}

// A stream or future end the guest is about to read: idle, and not in a waitable set
// unless the read is async (a sync read would have nothing to wake it).
HandleEntry& readable(const CanonContext& cx, uint32_t index, HandleKind kind,
                      const ValueType* channel, bool async) {
  HandleEntry& end = end_of(cx, index, kind, channel);
  if (end.done) trap("handle " + std::to_string(index) + " has already delivered its end");
  if (end.set != 0 && !async) trap("a synchronous read of a stream or future in a waitable set");
  return end;
}

uint32_t stream_read(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                     std::span<const RawValue> slots) {
  HandleEntry& end =
      readable(cx, arg(slots, 0), HandleKind::kReadableStream, type, b.options.async);
  const ValueType* element = element_of(type);
  const uint32_t ptr = arg(slots, 1);
  const uint32_t n = arg(slots, 2);
  check_buffer(cx, element, ptr, n);
  HostChannel& channel = *end.channel;
  const size_t left = channel.values.size() - channel.next;
  if (left == 0) {  // the host's end is gone with its call
    end.done = true;
    return kDropped;
  }
  const auto count = static_cast<uint32_t>(std::min<size_t>(n, left));
  if (element != nullptr) {
    const uint32_t step = size(*element);
    for (uint32_t i = 0; i < count; ++i)
      store(cx, channel.values[channel.next + i], *element, ptr + i * step);
  }
  channel.next += count;
  return kCompleted | (count << 4);
}

uint32_t future_read(const CanonBuiltin& b, const ValueType* type, const CanonContext& cx,
                     std::span<const RawValue> slots) {
  HandleEntry& end =
      readable(cx, arg(slots, 0), HandleKind::kReadableFuture, type, b.options.async);
  const ValueType* element = element_of(type);
  const uint32_t ptr = arg(slots, 1);
  check_buffer(cx, element, ptr, 1);
  HostChannel& channel = *end.channel;
  if (element != nullptr) {
    if (channel.values.empty()) trap("the host wrote no value to a future of a type");
    store(cx, channel.values[0], *element, ptr);
  }
  end.done = true;
  return kCompleted;
}

// Takes waitable `index` out of the set it joined, if any.
void leave_set(const CanonContext& cx, HandleEntry& waitable) {
  if (waitable.set == 0) return;
  if (HandleEntry* set = cx.handles->get(waitable.set)) --set->members;
  waitable.set = 0;
}

void drop_readable(const CanonContext& cx, uint32_t index, HandleKind kind,
                   const ValueType* channel) {
  HandleEntry& end = end_of(cx, index, kind, channel);
  leave_set(cx, end);
  cx.handles->remove(index);
}

void join(const CanonContext& cx, uint32_t waitable, uint32_t set) {
  HandleEntry* w = cx.handles->get(waitable);
  if (w == nullptr ||
      (w->kind != HandleKind::kReadableStream && w->kind != HandleKind::kReadableFuture)) {
    trap("handle " + std::to_string(waitable) + " is not a waitable");
  }
  if (set != 0) entry_of(cx, set, HandleKind::kWaitableSet, "a waitable set");
  leave_set(cx, *w);
  if (set != 0) {
    w->set = set;
    ++cx.handles->get(set)->members;
  }
}

// waitable-set.wait and poll: no waitable ever has an event pending (every copy and call
// completes before it returns), so poll finds none and wait would never return.
uint32_t wait_or_poll(bool wait, const CanonContext& cx, std::span<const RawValue> slots) {
  const uint32_t set = arg(slots, 0);
  const uint32_t ptr = arg(slots, 1);
  const HandleEntry& s = entry_of(cx, set, HandleKind::kWaitableSet, "a waitable set");
  if (wait) {
    trap("waitable-set.wait on a set of " + std::to_string(s.members) +
         " waitables, none of which can make progress: the host completes every call and "
         "copy before returning, so this wait would never end");
  }
  if (!cx.memory) trap("the canonical option `memory` is required here but was not given");
  if (ptr % 4 != 0 || uint64_t{ptr} + 8 > cx.memory_view().size())
    trap("event pointer " + std::to_string(ptr) + " is misaligned or out of range");
  std::fill_n(cx.memory_view().data() + ptr, 8, uint8_t{0});  // EventCode.NONE, 0, 0
  return 0;
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
  if (opcode >= 0x05 && opcode - 0x05 < std::size(kNames)) name = kNames[opcode - 0x05];
  if (opcode >= 0x40 && opcode <= 0x42) name = "a shared-everything thread built-in";
  static constexpr char kHex[] = "0123456789abcdef";
  return name + " (0x" + kHex[opcode >> 4] + kHex[opcode & 15] + ")";
}

std::optional<uint32_t> async_builtin_memory(const CanonBuiltin& b) {
  if (b.opcode == kWaitableSetWait || b.opcode == kWaitableSetPoll) return b.second;
  return b.options.memory;
}

std::optional<wasm::FuncType> async_builtin_signature(const CanonBuiltin& b) {
  const wasm::ValType i = wasm::ValType::kI32;
  switch (b.opcode) {
    case kContextGet:
    case kContextSet:
      // i64 slots exist only with 64-bit memories; two slots per task.
      if (!b.core_type || b.core_type->code != 0x7f || !b.second || *b.second >= 2)
        return std::nullopt;
      if (b.opcode == kContextGet) return wasm::FuncType{{}, {i}};
      return wasm::FuncType{{i}, {}};
    case kThreadYield:
    case kWaitableSetNew:
      return wasm::FuncType{{}, {i}};
    case kBackpressureInc:
    case kBackpressureDec:
      return wasm::FuncType{{}, {}};
    case kSubtaskCancel:
    case kStreamCancelRead:
    case kFutureCancelRead:
      return wasm::FuncType{{i}, {i}};
    case kSubtaskDrop:
    case kStreamDropReadable:
    case kFutureDropReadable:
    case kWaitableSetDrop:
      return wasm::FuncType{{i}, {}};
    case kStreamRead:
      return wasm::FuncType{{i, i, i}, {i}};
    case kFutureRead:
    case kWaitableSetWait:
    case kWaitableSetPoll:
      return wasm::FuncType{{i, i}, {i}};
    case kWaitableJoin:
      return wasm::FuncType{{i, i}, {}};
    default:
      return std::nullopt;
  }
}

void run_async_builtin(const CanonBuiltin& b, const ValueType* channel, const CanonContext& cx,
                       TaskState& task, std::span<RawValue> slots) {
  auto result = [&](uint32_t v) { slots[0] = RawValue::from_i32(static_cast<int32_t>(v)); };
  switch (b.opcode) {
    case kContextGet:
      return result(task.context[*b.second]);
    case kContextSet:
      task.context[*b.second] = arg(slots, 0);
      return;
    case kThreadYield:
      return result(0);  // not cancelled: nothing else runs in this instance meanwhile
    case kBackpressureInc:
      if (++task.backpressure == (1u << 16)) trap("backpressure.inc past its limit");
      return;
    case kBackpressureDec:
      if (task.backpressure == 0) trap("backpressure.dec below zero");
      --task.backpressure;
      return;
    case kSubtaskCancel:
    case kSubtaskDrop:
      // Every host call returned before the guest saw it: there are no subtasks.
      trap("handle " + std::to_string(arg(slots, 0)) + " is not a subtask");
    case kStreamRead:
      return result(stream_read(b, channel, cx, slots));
    case kFutureRead:
      return result(future_read(b, channel, cx, slots));
    case kStreamCancelRead:
    case kFutureCancelRead:
      trap("handle " + std::to_string(arg(slots, 0)) + " has no read in progress to cancel");
    case kStreamDropReadable:
      return drop_readable(cx, arg(slots, 0), HandleKind::kReadableStream, channel);
    case kFutureDropReadable:
      return drop_readable(cx, arg(slots, 0), HandleKind::kReadableFuture, channel);
    case kWaitableSetNew: {
      HandleEntry set;
      set.kind = HandleKind::kWaitableSet;
      auto index = cx.handles->add(std::move(set));
      if (!index) trap("the handle table is full");
      return result(*index);
    }
    case kWaitableSetDrop: {
      const uint32_t index = arg(slots, 0);
      if (entry_of(cx, index, HandleKind::kWaitableSet, "a waitable set").members != 0)
        trap("waitable-set.drop of a set that waitables still belong to");
      cx.handles->remove(index);
      return;
    }
    case kWaitableJoin:
      return join(cx, arg(slots, 0), arg(slots, 1));
    case kWaitableSetWait:
    case kWaitableSetPoll:
      return result(wait_or_poll(b.opcode == kWaitableSetWait, cx, slots));
    default:
      trap(async_builtin_name(b.opcode) + " is not provided");
  }
}

}  // namespace gyre::component
