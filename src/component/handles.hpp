// A component instance's handle table: the integers a guest holds for resources (each
// naming its resource type, its representation and whether it owns or borrows) and for
// the async ABI's objects, which share the one index space (CanonicalABI.md, "Table").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "component/types.hpp"
#include "component/value.hpp"

namespace gyre::component {

enum class HandleKind : uint8_t { kResource, kReadableStream, kReadableFuture, kWaitableSet };

// What the host gives a guest through a stream or a future: every value, made before the
// host function returned (the host finishes its calls before returning), delivered as the
// guest reads. A future holds one value, or none for `future` without a type.
struct HostChannel {
  std::vector<Val> values;
  size_t next = 0;  // the first value not yet read
};

struct HandleEntry {
  const Resource* resource = nullptr;  // kept alive by the component's types
  uint32_t rep = 0;
  bool own = true;
  uint32_t lends = 0;  // borrows of this handle passed out and not yet returned
  // A borrow the host lent for the duration of one call into the guest.
  bool lent_for_call = false;
  HandleKind kind = HandleKind::kResource;
  // A stream or future end: its values, whether its last read ended it (the writer was
  // dropped, or the future delivered), and the waitable set it joined (0: none).
  std::shared_ptr<HostChannel> channel;
  const ValueType* channel_type = nullptr;  // the stream or future type it was lowered as
  bool done = false;
  uint32_t set = 0;
  uint32_t members = 0;  // a waitable set: the waitables that joined it
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
