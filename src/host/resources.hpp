// Host-implemented resources as C++ objects. Each component instance has one table per
// resource type; the guest holds handles to entries, and the object dies when the guest
// drops its owned handle (or the instance ends).
//
//   Own<R> as a result: the host gives the guest a new object.
//   Own<R> as an argument: the guest gives the object back; the host now owns it.
//   Borrow<R> as an argument: the object, for the duration of the call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "host/wit_type.hpp"

namespace gyre::host {

// Live objects in a vector sorted by rep: reps only grow (never reused, as in Spin's
// tables, since Spin 1 interfaces hand them to guests as plain numbers), so inserting
// appends, and finding is a binary search over the few objects a request holds. A hash map
// cost an allocation per object.
template <class R>
class ResourceTable {
 public:
  uint32_t insert(std::unique_ptr<R> object) {
    const uint32_t rep = next_++;
    objects_.emplace_back(rep, std::move(object));
    return rep;
  }
  R* get(uint32_t rep) {
    auto it = find(rep);
    return it == objects_.end() ? nullptr : it->second.get();
  }
  std::unique_ptr<R> take(uint32_t rep) {
    auto it = find(rep);
    if (it == objects_.end()) return nullptr;
    std::unique_ptr<R> out = std::move(it->second);
    objects_.erase(it);
    return out;
  }
  size_t size() const { return objects_.size(); }

 private:
  using Entry = std::pair<uint32_t, std::unique_ptr<R>>;
  typename std::vector<Entry>::iterator find(uint32_t rep) {
    auto it = std::lower_bound(objects_.begin(), objects_.end(), rep,
                               [](const Entry& e, uint32_t r) { return e.first < r; });
    return it != objects_.end() && it->first == rep ? it : objects_.end();
  }

  std::vector<Entry> objects_;
  uint32_t next_ = 1;
};

template <class R>
struct Own {
  std::unique_ptr<R> object;
};

template <class R>
struct Borrow {
  R* object = nullptr;
  R* operator->() const { return object; }
  R& operator*() const { return *object; }
};

template <class R>
ResourceTable<R>& table_of(Context& cx) {
  return cx.instance.host_state<ResourceTable<R>>();
}

template <class R>
struct WitType<Own<R>> {
  static bool matches(const ValueType& t) { return t.kind == ValueKind::kOwn; }
  static Own<R> from(const Val& v, Context& cx) {
    auto object = table_of<R>(cx).take(static_cast<uint32_t>(v.bits));
    if (!object) throw ConversionError{"owned handle to a resource the host does not hold"};
    return Own<R>{std::move(object)};
  }
  static Val to(Own<R> v, Context& cx) {
    return Val::own(table_of<R>(cx).insert(std::move(v.object)));
  }
};

template <class R>
struct WitType<Borrow<R>> {
  static bool matches(const ValueType& t) { return t.kind == ValueKind::kBorrow; }
  static Borrow<R> from(const Val& v, Context& cx) {
    R* object = table_of<R>(cx).get(static_cast<uint32_t>(v.bits));
    if (object == nullptr)
      throw ConversionError{"borrowed handle to a resource the host does not hold"};
    return Borrow<R>{object};
  }
};

}  // namespace gyre::host
