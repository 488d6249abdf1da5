// Calls that cross between guest and host: a guest's lowered calls of host functions
// (or of another guest's), its built-ins, and the host's calls into the guest's exports
// with the callback loop of async lifts.
#include "component/instance_parts.hpp"

namespace gyre::component {

namespace {

// An async-lowered call the host finishes later: the guest gets a subtask now, and an
// event when the result is in its memory.
void start_subtask(Lowering& lowering, std::shared_ptr<PendingCall> pending,
                   std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *lowering.plan;
  Concurrency& concurrency = lowering.instance->concurrency();
  auto subtask = std::make_shared<Subtask>();
  HandleEntry entry;
  entry.kind = HandleKind::kSubtask;
  entry.object = subtask;
  auto index = lowering.caller->handles.add(std::move(entry));
  if (!index) fail("the handle table is full");
  subtask->request_cancel = [weak = std::weak_ptr<PendingCall>(pending)] {
    if (auto p = weak.lock()) p->request_cancel();
  };
  // The flat parameters end with the out-pointer the result goes to.
  std::vector<wasm::RawValue> params(slots.begin(), slots.begin() + plan.sig.params.size());
  // Held until the call is delivered, or until the host lets go of it unresolved.
  auto hold = std::make_shared<Scheduler::Hold>(concurrency.shared_scheduler());
  pending->set_deliver([&lowering, &concurrency, weak = std::weak_ptr<Subtask>(subtask),
                        params = std::move(params),
                        hold = std::move(hold)](PendingCall::Outcome outcome) mutable {
    hold.reset();
    std::shared_ptr<Subtask> s = weak.lock();
    if (!s) return;  // the guest is gone
    if (outcome.kind == PendingCall::Outcome::kFailed)
      fail(lowering.target->import_name + ": " + outcome.error);
    if (outcome.kind == PendingCall::Outcome::kReturned) {
      const CanonPlan& p = *lowering.plan;
      CanonContext cx{lowering.instance->store(), p.encoding, lowering.memory, lowering.realloc,
                      &lowering.caller->handles,  nullptr,    &concurrency};
      lower_result(cx, outcome.result, *p.type, p.sig, params);
      s->state = Subtask::kReturned;
    } else {
      s->state = Subtask::kCancelledBeforeReturned;
    }
    Subtask* raw = s.get();
    s->set_pending_event([raw] {
      raw->resolve_delivered = true;
      return Event{EventCode::kSubtask, raw->index, raw->state};
    });
  });
  slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(Subtask::kStarted | (*index << 4)));
}

wasm::HostResult run_lowering(Lowering& lowering, wasm::Caller& caller,
                              std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *lowering.plan;
  try {
    if (!lowering.caller->may_leave) fail("a component may not call imports during post-return");
    CanonContext cx{caller.context(),
                    plan.encoding,
                    lowering.memory,
                    lowering.realloc,
                    &lowering.caller->handles,
                    nullptr,
                    &lowering.instance->concurrency()};
    std::shared_ptr<PendingCall> deferred;
    std::optional<Val> result = lowering.call(cx, slots.subspan(0, plan.sig.params.size()),
                                              plan.async ? &deferred : nullptr);
    if (deferred) {
      start_subtask(lowering, std::move(deferred), slots);
      return std::nullopt;
    }
    cx.forget_memory();  // the call may have run a guest
    lower_result(cx, result, *plan.type, plan.sig, slots);
    // The call has finished: the subtask is RETURNED before the guest could see it.
    if (plan.async) slots[0] = wasm::RawValue::from_i32(Subtask::kReturned);
    return std::nullopt;
  } catch (const AbiTrap& trap) {
    return wasm::HostTrap{trap.message};
  } catch (const GuestError& error) {
    return wasm::HostTrap{error.error.describe()};
  }
}

wasm::HostResult run_builtin(Builtin& b, wasm::Caller& caller, std::span<wasm::RawValue> slots) {
  const CanonPlan& plan = *b.plan;
  if (plan.kind == CanonPlan::kAsyncBuiltin) {
    if (!b.frame->may_leave) return wasm::HostTrap{"a component may not call built-ins now"};
    CanonContext cx{caller.context(),  plan.builtin->options.string_encoding,
                    b.memory,          b.realloc,
                    &b.frame->handles, b.frame->component,
                    b.concurrency};
    try {
      run_async_builtin(*plan.builtin, plan.channel.get(), cx, *b.concurrency, slots);
    } catch (const AbiTrap& trap) {
      return wasm::HostTrap{trap.message};
    } catch (const GuestError& error) {  // posted host work that ran the guest's realloc
      return wasm::HostTrap{error.error.describe()};
    }
    return std::nullopt;
  }
  const auto index = static_cast<uint32_t>(slots[0].i32);
  if (plan.kind == CanonPlan::kResourceNew) {
    auto added = b.frame->handles.add(HandleEntry{plan.resource.get(), index, true, 0});
    if (!added) return wasm::HostTrap{"resource.new: the handle table is full"};
    slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(*added));
    return std::nullopt;
  }
  HandleEntry* entry = b.frame->handles.get(index);
  if (entry == nullptr || entry->resource != plan.resource.get()) {
    return wasm::HostTrap{"resource handle " + std::to_string(index) +
                          " is not a handle of this resource"};
  }
  if (plan.kind == CanonPlan::kResourceRep) {
    slots[0] = wasm::RawValue::from_i32(static_cast<int32_t>(entry->rep));
    return std::nullopt;
  }
  if (entry->lends != 0) return wasm::HostTrap{"resource.drop: handle is still lent out"};
  const HandleEntry dropped = *b.frame->handles.remove(index);
  if (dropped.lent_for_call) --b.frame->handles.outstanding_borrows;
  if (dropped.own && b.destructor) {
    wasm::RawValue arg[1] = {wasm::RawValue::from_i32(static_cast<int32_t>(dropped.rep))};
    auto called = b.destructor->call_raw(caller.context(), arg);
    if (!called) return wasm::HostTrap{"resource destructor trapped: " + called.error().describe()};
  } else if (dropped.own && plan.host_drop != nullptr) {
    HostCall call{caller.context(), *static_cast<ComponentInstance*>(caller.data())};
    (*plan.host_drop)(call, dropped.rep);
  }
  return std::nullopt;
}

}  // namespace

wasm::HostResult CanonCalls::shared(void* env, wasm::Caller& caller,
                                    std::span<wasm::RawValue> slots) {
  const auto& plan = *static_cast<const CanonPlan*>(env);
  CanonSlot& s = static_cast<ComponentInstance*>(caller.data())->slots_[plan.id];
  if (auto* lowering = std::get_if<Lowering>(&s)) return run_lowering(*lowering, caller, slots);
  return run_builtin(std::get<Builtin>(s), caller, slots);
}

wasm::FuncType core_signature(const CanonPlan& plan) {
  const std::vector<CoreKind> i32{CoreKind::kI32};
  switch (plan.kind) {
    case CanonPlan::kLower:
      return core_type(plan.sig.params, plan.sig.results);
    case CanonPlan::kResourceDrop:
      return core_type(i32, {});
    case CanonPlan::kAsyncBuiltin:
      return *async_builtin_signature(*plan.builtin, plan.channel.get());
    default:
      return core_type(i32, i32);
  }
}

std::optional<Val> ComponentInstance::invoke_host(const ComponentFunction& fn,
                                                  std::span<const Val> args,
                                                  std::shared_ptr<PendingCall>* deferred) {
  if (fn.host == nullptr) fail("the host does not provide the import " + fn.import_name);
  HostCall call{store_, *this};
  // An exception a host function lets escape (a bug, or memory running out) ends this
  // call as a trap: it must never unwind through the guest's frames into the engine.
  auto result = [&] {
    try {
      return (*fn.host)(call, args);
    } catch (const std::exception& e) {
      fail(fn.import_name + ": the host function failed: " + e.what());
    }
  }();
  if (!result) fail(fn.import_name + ": " + result.error());
  if (!call.deferred) return std::move(result).value();
  if (deferred != nullptr) {  // lowered async: the caller gets a subtask
    *deferred = std::move(call.deferred);
    return std::nullopt;
  }
  // Lowered synchronously: the guest waits for the host to finish.
  std::optional<PendingCall::Outcome> outcome;
  PendingCall& pending = *call.deferred;
  // Held until the outcome arrives, or until the wait below ends without it.
  pending.set_deliver(
      [&outcome, hold = std::make_shared<Scheduler::Hold>(concurrency_->shared_scheduler())](
          PendingCall::Outcome o) mutable {
        hold.reset();
        outcome = std::move(o);
      });
  // Should the wait trap, a later outcome must not reach this frame's locals; replacing
  // the deliverer lets go of its hold.
  struct Detach {
    PendingCall& pending;
    ~Detach() {
      pending.set_deliver([](PendingCall::Outcome) {});
    }
  } detach{pending};
  concurrency_->scheduler.wait_until([&] { return outcome.has_value(); },
                                     "a call of " + fn.import_name);
  if (outcome->kind == PendingCall::Outcome::kFailed) fail(fn.import_name + ": " + outcome->error);
  return std::move(outcome->result);
}

std::optional<Val> ComponentInstance::invoke(const ComponentFunction& fn, std::span<const Val> args,
                                             std::shared_ptr<PendingCall>* deferred) {
  if (!fn.core) return invoke_host(fn, args, deferred);
  if (fn.callback) return invoke_callback_task(fn, args, deferred);
  Frame& frame = *fn.frame;
  if (!frame.may_enter) fail("cannot enter a component instance that is already running");
  CanonContext cx{store_,         fn.encoding,     fn.memory,         fn.realloc,
                  &frame.handles, frame.component, concurrency_.get()};
  frame.handles.outstanding_borrows = 0;
  TaskState task;
  task.type = fn.type.get();
  task.async = fn.async;
  task.encoding = fn.encoding;
  // Only the outermost task reports its result early; nested ones return it.
  if (concurrency_->tasks.empty()) task.on_return = on_return_;
  concurrency_->tasks.push_back(&task);
  struct Pop {
    std::vector<TaskState*>& tasks;
    ~Pop() { tasks.pop_back(); }
  } pop{concurrency_->tasks};

  std::vector<wasm::RawValue> slots;
  slots.reserve(std::max(fn.sig->params.size(), fn.sig->results.size()));
  const FlatSignature& sig = *fn.sig;
  lower_params(cx, args, *fn.type, sig, slots);
  slots.resize(std::max(slots.size(), sig.results.size()));

  frame.may_enter = false;
  struct Reenter {
    Frame& frame;
    ~Reenter() { frame.may_enter = true; }
  } reenter{frame};
  auto called = fn.core->call_raw(store_, slots);
  cx.forget_memory();
  if (!called) throw GuestError{std::move(called).error()};

  if (fn.async) {  // stackful: it has exited
    if (!task.returned) fail("the task's function exited without calling task.return");
    return std::move(task.result);
  }
  std::optional<Val> result = lift_result(
      cx, std::span<const wasm::RawValue>(slots.data(), sig.results.size()), *fn.type, sig);
  if (fn.post_return) {
    frame.may_leave = false;
    auto post = fn.post_return->call_raw(store_, std::span(slots.data(), sig.results.size()));
    frame.may_leave = true;
    if (!post) throw GuestError{std::move(post).error()};
  }
  if (frame.handles.outstanding_borrows != 0) {
    fail("the callee returned without dropping borrowed handles it was lent (" +
         std::to_string(frame.handles.outstanding_borrows) + " outstanding)");
  }
  if (task.on_return) task.on_return(result);
  return result;
}

// A call of a function lifted async with a callback: a task among the instance's others.
// Lowered async (`deferred`: another guest's call), the caller goes on once the task
// first waits, holding a subtask that resolves when the task returns (or ends cancelled);
// lowered sync, or called by the host, the call drives every task until this one exits.
std::optional<Val> ComponentInstance::invoke_callback_task(const ComponentFunction& fn,
                                                           std::span<const Val> args,
                                                           std::shared_ptr<PendingCall>* deferred) {
  struct Call {
    std::shared_ptr<PendingCall> pending = std::make_shared<PendingCall>();
    bool subtask = false;  // the caller went on and holds a subtask
    bool returned = false, exited = false;
    std::optional<Val> result;
    std::optional<wasm::Error> error;
  };
  auto call = std::make_shared<Call>();
  OnReturn on_return = [call](const std::optional<Val>& r) {
    if (call->subtask) return call->pending->resolve(r);
    call->returned = true;
    call->result = r;
  };
  if (deferred == nullptr && concurrency_->tasks.empty() && on_return_) {
    on_return = [call, outer = on_return_](const std::optional<Val>& r) {
      call->returned = true;
      call->result = r;
      outer(r);
    };
  }
  OnExit on_exit = [call](const std::optional<wasm::Error>& e) {
    call->exited = true;
    call->error = e;
    // Exited without returning: it ended by task.cancel, or was cancelled before it
    // started. (A trap ends the caller's task too: nothing is resolved then.)
    if (call->subtask && !e) call->pending->resolve_cancelled();
  };
  const uint64_t id = start_task(fn, args, std::move(on_return), std::move(on_exit));
  if (deferred != nullptr && !call->returned && !call->exited) {
    if (AsyncTask* task = find_task(id))
      task->state.on_cancel = [call] { call->pending->resolve_cancelled(); };
    call->pending->on_cancel([this, id] { cancel(id); });
    call->subtask = true;
    *deferred = call->pending;
    return std::nullopt;
  }
  drive_tasks([&] { return call->exited || (deferred != nullptr && call->returned); });
  if (call->error) throw GuestError{*call->error};
  return std::move(call->result);
}

Result<std::optional<Val>, wasm::Error> ComponentInstance::call(
    const ComponentFunction& function, std::span<const Val> args,
    std::function<void(const std::optional<Val>&)> on_return) {
  if (poisoned_) return poisoned_error();
  on_return_ = std::move(on_return);
  std::optional<Val> result;
  auto called = guarded([&] { result = invoke(function, args); });
  if (!called) return std::move(called).error();
  return result;
}

}  // namespace gyre::component
