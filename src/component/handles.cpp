#include "component/handles.hpp"

namespace gyre::component {

std::optional<uint32_t> HandleTable::add(HandleEntry entry) {
  uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
    slots_[index] = std::move(entry);
  } else {
    if (slots_.empty()) {
      slots_.reserve(8);
      slots_.emplace_back();
    }
    if (slots_.size() >= kMaxEntries) return std::nullopt;
    index = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::move(entry));
  }
  ++live_;
  // Events name a waitable by its handle.
  if (auto* waitable = dynamic_cast<Waitable*>(slots_[index]->object.get()))
    waitable->index = index;
  return index;
}

HandleEntry* HandleTable::get(uint32_t index) {
  if (index == 0 || index >= slots_.size() || !slots_[index]) return nullptr;
  return &*slots_[index];
}

std::optional<HandleEntry> HandleTable::remove(uint32_t index) {
  HandleEntry* entry = get(index);
  if (entry == nullptr) return std::nullopt;
  HandleEntry out = std::move(*entry);
  slots_[index].reset();
  free_.push_back(index);
  --live_;
  return out;
}

}  // namespace gyre::component
