// Waitables and waitable sets (CanonicalABI.md, "Waitable State"): what a guest waits on.
//
// Subtasks and the ends of streams and futures are waitables. Each may hold one pending
// event, made when something outside the guest finished (a host call returned, a copy
// completed); a guest collects it by waiting on, or polling, a waitable set the waitable
// joined, or by a synchronous built-in that waits on that waitable alone.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace gyre::component {

// Everything of component-model async that a guest's handle table holds.
class AsyncObject {
 public:
  virtual ~AsyncObject() = default;
};

enum class EventCode : uint32_t {
  kNone = 0,
  kSubtask = 1,
  kStreamRead = 2,
  kStreamWrite = 3,
  kFutureRead = 4,
  kFutureWrite = 5,
  kTaskCancelled = 6,
};

struct Event {
  EventCode code = EventCode::kNone;
  uint32_t index = 0;    // the waitable's handle
  uint32_t payload = 0;  // a subtask's state, or a copy's result and count
};

class WaitableSet;

class Waitable : public AsyncObject {
 public:
  ~Waitable() override;

  // The handle the guest holds it by (events name it).
  uint32_t index = 0;
  // A synchronous built-in is waiting on this waitable alone.
  bool has_sync_waiter = false;

  bool has_pending_event() const { return static_cast<bool>(pending_); }
  // The event is made when delivered: delivering may change state (a copy end goes back
  // to idle), which must not happen before the guest sees it.
  void set_pending_event(std::function<Event()> make) { pending_ = std::move(make); }
  Event take_pending_event();

  WaitableSet* set() const { return set_; }
  void join(WaitableSet* set);

 private:
  friend class WaitableSet;
  std::function<Event()> pending_;
  WaitableSet* set_ = nullptr;
};

class WaitableSet : public AsyncObject {
 public:
  ~WaitableSet() override;

  size_t size() const { return members_.size(); }
  bool has_pending_event() const;
  // The pending event of one member; members take turns, so none starves the others.
  Event take_pending_event();
  // Guests waiting on this set now (waitable-set.drop traps while any does).
  uint32_t waiting = 0;

 private:
  friend class Waitable;
  std::vector<Waitable*> members_;
  size_t next_ = 0;
};

}  // namespace gyre::component
