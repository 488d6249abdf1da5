// The result of an async host function, promised for later (component-model async).
//
//   host::define(imports, "gyre:demo/slow", "answer",
//                [](host::Context& cx) -> host::Later<uint32_t> {
//                  host::Later<uint32_t> later(cx);
//                  start_work([later] { later.post([later] { later.resolve(42); }); });
//                  return later;
//                });
//
// A guest that lowered the call async holds a subtask and goes on; one that called it
// synchronously waits, its fiber suspended. Resolve on the guest's thread: from
// elsewhere, through post(), which may be called from any thread at any time (after
// the instance is gone, the work is dropped).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"
#include "host/wit_type.hpp"

namespace gyre::host {

template <class T>
class Later {
 public:
  explicit Later(Context& cx)
      : instance_(&cx.instance),
        pending_(std::make_shared<component::PendingCall>()),
        scheduler_(cx.instance.concurrency().shared_scheduler()) {}

  template <class U = T>
    requires(!std::is_void_v<U>)
  void resolve(U value) const {
    Context cx{*instance_};
    pending_->resolve(WitType<T>::to(std::move(value), cx));
  }
  void resolve() const
    requires std::is_void_v<T>
  {
    pending_->resolve(std::nullopt);
  }
  // Ends the call with a trap of the guest, with `message`.
  void fail(std::string message) const { pending_->fail(std::move(message)); }
  // What to do when the guest cancels the call; resolve_cancelled() once it stopped.
  void on_cancel(std::function<void()> cancel) const { pending_->on_cancel(std::move(cancel)); }
  void resolve_cancelled() const { pending_->resolve_cancelled(); }

  void post(std::function<void()> work) const { scheduler_->post(std::move(work)); }

  // For host::define, which hands it to the call.
  const std::shared_ptr<component::PendingCall>& pending() const { return pending_; }

 private:
  component::ComponentInstance* instance_;
  std::shared_ptr<component::PendingCall> pending_;
  std::shared_ptr<component::Scheduler> scheduler_;
};

}  // namespace gyre::host
