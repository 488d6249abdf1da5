// A component instance's handle table: the integers a guest holds for resources (each
// naming its resource type, its representation and whether it owns or borrows) and for
// the async ABI's objects (stream and future ends, subtasks, waitable sets, error
// contexts), which share the one index space (CanonicalABI.md, "Table").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "component/concurrency/waitable.hpp"
#include "component/types.hpp"

namespace gyre::component {

enum class HandleKind : uint8_t {
  kResource,
  kReadableStream,
  kWritableStream,
  kReadableFuture,
  kWritableFuture,
  kSubtask,
  kWaitableSet,
  kErrorContext,
};

struct HandleEntry {
  const Resource* resource = nullptr;  // kept alive by the component's types
  uint32_t rep = 0;
  bool own = true;
  uint32_t lends = 0;  // borrows of this handle passed out and not yet returned
  // A borrow the host lent for the duration of one call into the guest.
  bool lent_for_call = false;
  HandleKind kind = HandleKind::kResource;
  // Every kind but kResource: the object (component/concurrency/).
  std::shared_ptr<AsyncObject> object;
};

class HandleTable {
 public:
  // The canonical ABI caps a table at 2^28 entries; past that, add() returns nullopt.
  static constexpr uint32_t kMaxEntries = 1u << 28;

  std::optional<uint32_t> add(HandleEntry entry);
  HandleEntry* get(uint32_t index);
  std::optional<HandleEntry> remove(uint32_t index);
  size_t live() const { return live_; }
  // Borrows lent for the current call (lent_for_call) that the guest has not dropped yet.
  uint32_t outstanding_borrows = 0;

 private:
  // Index 0 is never valid; the slot for it is made with the first entry, so a frame
  // that never holds a handle allocates nothing.
  std::vector<std::optional<HandleEntry>> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

}  // namespace gyre::component
