// Streams and futures (CanonicalABI.md, "Stream State", "Future State"): a rendezvous
// between a writer's buffer and a reader's.
//
// Either end may be held by a guest (a CopyEnd in its handle table) or by the host (a
// HostEnd). A copy waits until the other side offers a buffer, then moves values
// straight from one buffer to the other: guest memory to guest memory, or between guest
// memory and a host buffer. Plain elements (numbers, or none) move as bytes with one
// memcpy; others are lifted from one side and lowered into the other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "component/abi.hpp"
#include "component/concurrency/waitable.hpp"
#include "component/types.hpp"
#include "component/value.hpp"

namespace gyre::component {

enum class CopyResult : uint32_t { kCompleted = 0, kDropped = 1, kCancelled = 2 };

// Elements that move as bytes: none (a stream or future without a type) or numbers.
bool plain_element(const ValueType* element);

// One side of a copy: the values a writer offers, or the room a reader gives.
class CopyBuffer {
 public:
  static constexpr uint32_t kMaxLength = (1u << 28) - 1;
  virtual ~CopyBuffer() = default;
  uint32_t length = 0;
  uint32_t progress = 0;
  uint32_t remain() const { return length - progress; }
  // The next `n` elements' bytes (plain elements only).
  virtual std::span<uint8_t> bytes(uint32_t n) = 0;
  // The next `n` values, and the room for them (other elements).
  virtual std::vector<Val> take(uint32_t n) = 0;
  virtual void put(std::vector<Val> values) = 0;
};

// A buffer in a guest's memory, checked when made (a misuse traps).
class GuestBuffer final : public CopyBuffer {
 public:
  GuestBuffer(const CanonContext& cx, const ValueType* element, uint32_t ptr, uint32_t length);
  std::span<uint8_t> bytes(uint32_t n) override;
  std::vector<Val> take(uint32_t n) override;
  void put(std::vector<Val> values) override;

 private:
  uint32_t at() const { return ptr_ + progress * element_size_; }
  CanonContext cx_;
  const ValueType* element_;
  uint32_t element_size_;
  uint32_t ptr_;
};

// A buffer of the host: plain elements as raw little-endian bytes (a stream<u8>'s are
// its bytes), others as values.
class HostBuffer final : public CopyBuffer {
 public:
  // Values to write.
  HostBuffer(const ValueType* element, std::string bytes);
  HostBuffer(const ValueType* element, std::vector<Val> values);
  // Room to read `length` elements into.
  static HostBuffer room(const ValueType* element, uint32_t length);

  std::span<uint8_t> bytes(uint32_t n) override;
  std::vector<Val> take(uint32_t n) override;
  void put(std::vector<Val> values) override;

  // What a read received: the bytes of plain elements (valid while the buffer lives), or
  // the values.
  std::string_view received_bytes() const;
  std::vector<Val> received_values() { return std::move(values_); }

 private:
  const ValueType* element_;
  uint32_t element_size_;
  uint8_t* data();

  std::string bytes_;                // values to write
  std::unique_ptr<uint8_t[]> room_;  // room to read into (plain elements)
  std::vector<Val> values_;
};

// The state two ends share.
class SharedChannel {
 public:
  // `on_copy`: some values moved and the other side completed (streams); the callee
  // finishes its own copy by calling `reclaim`. `on_done`: the copy ended with a result.
  using OnCopy = std::function<void(std::function<void()> reclaim)>;
  using OnDone = std::function<void(CopyResult)>;

  // `type` (the stream<T> or future<T>) outlives the channel: types live as long as
  // the component or the host that made them.
  explicit SharedChannel(const ValueType* type);
  const ValueType* type() const { return type_; }
  const ValueType* element() const;
  bool future() const { return type_->kind == ValueKind::kFuture; }

  // `side` tells the two ends of one instance apart from ends of different ones.
  void read(const void* side, CopyBuffer& dst, OnCopy on_copy, OnDone on_done);
  void write(const void* side, CopyBuffer& src, OnCopy on_copy, OnDone on_done);
  // read() when `reading`, else write(): for ends that know their direction.
  void copy(bool reading, const void* side, CopyBuffer& buffer, OnCopy on_copy, OnDone on_done) {
    if (reading) return read(side, buffer, std::move(on_copy), std::move(on_done));
    write(side, buffer, std::move(on_copy), std::move(on_done));
  }
  // Ends the copy pending here with CANCELLED.
  void cancel();
  // Forgets `buffer`'s pending copy without notifying anyone: its end is going away.
  void cancel_silently(const CopyBuffer* buffer) {
    if (pending_ == buffer) set_pending(nullptr, nullptr, nullptr, nullptr);
  }
  // One end went away: a copy pending on the other ends with DROPPED, later ones too.
  void drop();

 private:
  void transfer(CopyBuffer& from, CopyBuffer& to, uint32_t n);
  void set_pending(const void* side, CopyBuffer* buffer, OnCopy on_copy, OnDone on_done);
  void reset_and_notify(CopyResult result);
  void check_sides(const void* side) const;

  const ValueType* type_;
  bool dropped_ = false;
  const void* pending_side_ = nullptr;
  CopyBuffer* pending_ = nullptr;
  OnCopy pending_on_copy_;
  OnDone pending_on_done_;
};

enum class CopyState : uint8_t { kIdle, kCopying, kCancelling, kDone };

// An end of a stream or future in a guest's handle table.
class CopyEnd final : public Waitable {
 public:
  CopyEnd(std::shared_ptr<SharedChannel> shared, bool readable)
      : shared(std::move(shared)), readable(readable) {}
  ~CopyEnd() override;
  bool copying() const { return state == CopyState::kCopying || state == CopyState::kCancelling; }

  std::shared_ptr<SharedChannel> shared;
  const bool readable;
  CopyState state = CopyState::kIdle;
  std::unique_ptr<GuestBuffer> buffer;  // of the copy in progress
};

// An end of a stream or future the host holds. Its callbacks run on the guest's thread
// (component/concurrency/scheduler.hpp); so must every call of its methods. Dropping it
// drops the end, which the guest at the other end sees. Host code that will use it from
// elsewhere later (through Scheduler::post) holds the scheduler meanwhile.
class HostEnd {
 public:
  HostEnd(std::shared_ptr<SharedChannel> shared, bool readable);
  ~HostEnd();
  HostEnd(const HostEnd&) = delete;
  HostEnd& operator=(const HostEnd&) = delete;

  const std::shared_ptr<SharedChannel>& shared() const { return shared_; }
  bool readable() const { return readable_; }
  bool busy() const { return static_cast<bool>(buffer_); }
  bool done() const { return done_; }

  // Reads up to `max` elements; `on_read` gets what arrived (possibly nothing) and the
  // result: COMPLETED, or DROPPED once the writer is gone.
  using OnRead = std::function<void(HostBuffer&, CopyResult)>;
  void read(uint32_t max, OnRead on_read);
  // Reads a stream of plain elements (bytes) until its writer is gone, `chunk` elements at
  // most at a time: `on_bytes` gets each chunk as it arrives, then `on_end` runs (and may
  // drop this end).
  void read_all(uint32_t chunk, std::function<void(std::string_view)> on_bytes,
                std::function<void()> on_end);
  // Writes `values`; `on_written` gets how many the reader took and the result. A
  // reader with less room takes part: write the rest again.
  using OnWritten = std::function<void(uint32_t written, CopyResult)>;
  void write(HostBuffer values, OnWritten on_written);
  void cancel();

  // Gives the end to a guest (lowering): this object lets go without dropping it.
  std::shared_ptr<SharedChannel> release();

 private:
  void finish(CopyResult result);
  // Starts a read (`reading`) or write of `buffer`; `done` gets it back with the result.
  void copy(bool reading, std::unique_ptr<HostBuffer> buffer,
            std::function<void(HostBuffer&, CopyResult)> done);

  std::shared_ptr<SharedChannel> shared_;
  bool readable_;
  bool done_ = false;
  std::unique_ptr<HostBuffer> buffer_;
  std::function<void(CopyResult)> finish_;
};

// The canonical ABI's lowering of a stream or future value into a guest: a new handle
// of the readable end the Val carries (a parked HostEnd), or, for a Val holding its
// values itself (Val::stream, Val::future), of a stream the host feeds them through.
uint32_t lower_channel(const CanonContext& cx, const Val& value, const ValueType& type);
// Lifting: the readable end leaves the guest's table and is parked for the host.
Val lift_channel(const CanonContext& cx, uint32_t index, const ValueType& type);

// Writes every value of `values` to `end`, then drops it: how a host function hands a
// guest a stream or future whose contents it already has.
void feed(std::unique_ptr<HostEnd> end, std::vector<Val> values);

}  // namespace gyre::component
