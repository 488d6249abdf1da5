// Objects made in a memory arena (std::pmr) that all go away with it: their destructors
// run when their ArenaPtr is dropped, their memory is freed with the arena's, at once.
// For what a short-lived owner makes by the dozen, where one allocation per object would
// cost more than the work done with it.
#pragma once

#include <memory>
#include <memory_resource>
#include <new>
#include <utility>

namespace gyre {

struct ArenaDelete {
  template <class T>
  void operator()(T* object) const {
    object->~T();
  }
};

template <class T>
using ArenaPtr = std::unique_ptr<T, ArenaDelete>;

// Constructs a T in `arena`. The ArenaPtr must be dropped before the arena is released.
template <class T, class... Args>
ArenaPtr<T> make_in(std::pmr::memory_resource& arena, Args&&... args) {
  void* at = arena.allocate(sizeof(T), alignof(T));
  return ArenaPtr<T>(new (at) T(std::forward<Args>(args)...));
}

}  // namespace gyre
