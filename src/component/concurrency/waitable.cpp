#include "component/concurrency/waitable.hpp"

#include <algorithm>

namespace gyre::component {

Waitable::~Waitable() {
  join(nullptr);
}

Event Waitable::take_pending_event() {
  std::function<Event()> make = std::move(pending_);
  pending_ = nullptr;
  return make();
}

void Waitable::join(WaitableSet* set) {
  if (set_ != nullptr) std::erase(set_->members_, this);
  set_ = set;
  if (set_ != nullptr) set_->members_.push_back(this);
}

WaitableSet::~WaitableSet() {
  // Only when the whole table goes: a guest cannot drop a set that has members.
  for (Waitable* w : members_)
    w->set_ = nullptr;
}

bool WaitableSet::has_pending_event() const {
  return std::any_of(members_.begin(), members_.end(),
                     [](const Waitable* w) { return w->has_pending_event(); });
}

Event WaitableSet::take_pending_event() {
  for (size_t i = 0; i < members_.size(); ++i) {
    Waitable* w = members_[(next_ + i) % members_.size()];
    if (!w->has_pending_event()) continue;
    next_ = (next_ + i + 1) % members_.size();
    return w->take_pending_event();
  }
  return {};
}

}  // namespace gyre::component
