#include "component/concurrency/channel.hpp"

#include <algorithm>
#include <cstring>

#include "component/concurrency/concurrency.hpp"
#include "component/layout.hpp"

namespace gyre::component {

namespace {

[[noreturn]] void trap(std::string message) {
  throw AbiTrap{std::move(message)};
}

uint32_t element_size(const ValueType* element) {
  return element == nullptr ? 0 : size(*element);
}

// A plain value's little-endian bytes, as the canonical ABI stores it.
void encode_plain(const Val& v, const ValueType& element, uint8_t* out) {
  const uint32_t n = size(element);
  if (element.kind == ValueKind::kF32) {
    const auto f = static_cast<float>(v.number);
    std::memcpy(out, &f, 4);
  } else if (element.kind == ValueKind::kF64) {
    std::memcpy(out, &v.number, 8);
  } else {
    for (uint32_t i = 0; i < n; ++i)
      out[i] = static_cast<uint8_t>(v.bits >> (8 * i));
  }
}

}  // namespace

bool plain_element(const ValueType* element) {
  // The integers and floats are the kinds from s8 to f64 (types.hpp's ValueKind order).
  return element == nullptr ||
         (element->kind >= ValueKind::kS8 && element->kind <= ValueKind::kF64);
}

// ---- buffers ---------------------------------------------------------------------------

GuestBuffer::GuestBuffer(const CanonContext& cx, const ValueType* element, uint32_t ptr,
                         uint32_t length)
    : cx_(cx), element_(element), element_size_(element_size(element)), ptr_(ptr) {
  if (length > kMaxLength) trap("a buffer of " + std::to_string(length) + " values is too long");
  if (element != nullptr && length != 0) {
    if (!cx.memory) trap("the canonical option `memory` is required here but was not given");
    check_elements(cx, ptr, length, *element, "buffer");
  }
  this->length = length;
}

std::span<uint8_t> GuestBuffer::bytes(uint32_t n) {
  cx_.forget_memory();  // the guest may have grown its memory since
  return cx_.memory_view().subspan(at(), size_t{n} * element_size_);
}

std::vector<Val> GuestBuffer::take(uint32_t n) {
  cx_.forget_memory();
  std::vector<Val> out;
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i, ++progress)
    out.push_back(load(cx_, at(), *element_));
  return out;
}

void GuestBuffer::put(std::vector<Val> values) {
  for (const Val& v : values) {
    cx_.forget_memory();  // storing a string or list may call realloc
    store(cx_, v, *element_, at());
    ++progress;
  }
}

HostBuffer::HostBuffer(const ValueType* element, std::string bytes)
    : element_(element), element_size_(element_size(element)), bytes_(std::move(bytes)) {
  length = element_size_ == 0 ? 0 : static_cast<uint32_t>(bytes_.size() / element_size_);
}

HostBuffer::HostBuffer(const ValueType* element, std::vector<Val> values)
    : element_(element), element_size_(element_size(element)) {
  length = static_cast<uint32_t>(values.size());
  if (!plain_element(element)) {
    values_ = std::move(values);
    return;
  }
  bytes_.resize(size_t{length} * element_size_);
  for (uint32_t i = 0; i < length && element != nullptr; ++i)
    encode_plain(values[i], *element,
                 reinterpret_cast<uint8_t*>(bytes_.data()) + i * element_size_);
}

HostBuffer HostBuffer::room(const ValueType* element, uint32_t length) {
  HostBuffer out(element, std::string());
  out.length = length;
  // Not zeroed: a read fills only what arrives, and hosts read in big chunks (a body's
  // 64 KiB) of which a request often fills a few bytes.
  if (plain_element(element)) out.room_.reset(new uint8_t[size_t{length} * out.element_size_]);
  return out;
}

uint8_t* HostBuffer::data() {
  return room_ ? room_.get() : reinterpret_cast<uint8_t*>(bytes_.data());
}

std::span<uint8_t> HostBuffer::bytes(uint32_t n) {
  return std::span(data() + size_t{progress} * element_size_, size_t{n} * element_size_);
}

std::vector<Val> HostBuffer::take(uint32_t n) {
  std::vector<Val> out(std::make_move_iterator(values_.begin() + progress),
                       std::make_move_iterator(values_.begin() + progress + n));
  progress += n;
  return out;
}

void HostBuffer::put(std::vector<Val> values) {
  progress += static_cast<uint32_t>(values.size());
  for (Val& v : values)
    values_.push_back(std::move(v));
}

std::string_view HostBuffer::received_bytes() const {
  const char* at = room_ ? reinterpret_cast<const char*>(room_.get()) : bytes_.data();
  return {at, size_t{progress} * element_size_};
}

// ---- the shared state ------------------------------------------------------------------

SharedChannel::SharedChannel(const ValueType* type) : type_(type) {}

const ValueType* SharedChannel::element() const {
  return type_->types.empty() ? nullptr : type_->types[0].get();
}

void SharedChannel::transfer(CopyBuffer& from, CopyBuffer& to, uint32_t n) {
  if (!plain_element(element())) {
    to.put(from.take(n));
    return;
  }
  if (element() != nullptr) {
    std::span<uint8_t> src = from.bytes(n);
    std::span<uint8_t> dst = to.bytes(n);
    std::memmove(dst.data(), src.data(), src.size());
  }
  from.progress += n;
  to.progress += n;
}

void SharedChannel::set_pending(const void* side, CopyBuffer* buffer, OnCopy on_copy,
                                OnDone on_done) {
  pending_side_ = side;
  pending_ = buffer;
  pending_on_copy_ = std::move(on_copy);
  pending_on_done_ = std::move(on_done);
}

void SharedChannel::reset_and_notify(CopyResult result) {
  OnDone done = std::move(pending_on_done_);
  set_pending(nullptr, nullptr, nullptr, nullptr);
  if (done) done(result);
}

void SharedChannel::check_sides(const void* side) const {
  // CanonicalABI.md: both ends in one instance may copy only plain elements (for now).
  if (side == pending_side_ && !plain_element(element()))
    trap("both ends of a stream or future of non-numeric values are in one component instance");
}

void SharedChannel::read(const void* side, CopyBuffer& dst, OnCopy on_copy, OnDone on_done) {
  if (dropped_) return on_done(CopyResult::kDropped);
  if (pending_ == nullptr) return set_pending(side, &dst, std::move(on_copy), std::move(on_done));
  check_sides(side);
  if (future()) {
    transfer(*pending_, dst, 1);
    reset_and_notify(CopyResult::kCompleted);
    return on_done(CopyResult::kCompleted);
  }
  if (pending_->remain() == 0) {
    reset_and_notify(CopyResult::kCompleted);
    return set_pending(side, &dst, std::move(on_copy), std::move(on_done));
  }
  if (dst.remain() > 0) {
    transfer(*pending_, dst, std::min(dst.remain(), pending_->remain()));
    OnCopy copied = pending_on_copy_;
    copied([this] { set_pending(nullptr, nullptr, nullptr, nullptr); });
  }
  on_done(CopyResult::kCompleted);
}

void SharedChannel::write(const void* side, CopyBuffer& src, OnCopy on_copy, OnDone on_done) {
  if (dropped_) return on_done(CopyResult::kDropped);
  if (pending_ == nullptr) return set_pending(side, &src, std::move(on_copy), std::move(on_done));
  check_sides(side);
  if (future()) {
    transfer(src, *pending_, 1);
    reset_and_notify(CopyResult::kCompleted);
    return on_done(CopyResult::kCompleted);
  }
  if (pending_->remain() > 0) {
    if (src.remain() > 0) {
      transfer(src, *pending_, std::min(src.remain(), pending_->remain()));
      OnCopy copied = pending_on_copy_;
      copied([this] { set_pending(nullptr, nullptr, nullptr, nullptr); });
    }
    return on_done(CopyResult::kCompleted);
  }
  if (src.length == 0 && pending_->length == 0) return on_done(CopyResult::kCompleted);
  reset_and_notify(CopyResult::kCompleted);
  set_pending(side, &src, std::move(on_copy), std::move(on_done));
}

void SharedChannel::cancel() {
  if (pending_ != nullptr) reset_and_notify(CopyResult::kCancelled);
}

void SharedChannel::drop() {
  if (dropped_) return;
  dropped_ = true;
  if (pending_ != nullptr) reset_and_notify(CopyResult::kDropped);
}

// ---- ends -------------------------------------------------------------------------------

CopyEnd::~CopyEnd() {
  if (!shared) return;  // passed on: lifted to the host or into another guest
  // A copy of ours still pending is forgotten, not notified: we are going.
  if (copying()) shared->cancel_silently(buffer.get());
  shared->drop();  // the other end sees it dropped
}

HostEnd::HostEnd(std::shared_ptr<SharedChannel> shared, bool readable)
    : shared_(std::move(shared)), readable_(readable) {}

HostEnd::~HostEnd() {
  if (!shared_) return;
  if (busy()) shared_->cancel_silently(buffer_.get());
  shared_->drop();
}

std::shared_ptr<SharedChannel> HostEnd::release() {
  return std::move(shared_);
}

void HostEnd::finish(CopyResult result) {
  if (result == CopyResult::kDropped) done_ = true;
  auto finish = std::move(finish_);
  finish_ = nullptr;
  finish(result);
}

void HostEnd::copy(bool reading, std::unique_ptr<HostBuffer> buffer,
                   std::function<void(HostBuffer&, CopyResult)> done) {
  buffer_ = std::move(buffer);
  finish_ = [this, done = std::move(done)](CopyResult result) {
    std::unique_ptr<HostBuffer> finished = std::move(buffer_);
    done(*finished, result);
  };
  shared_->copy(
      reading, this, *buffer_,
      [this](const std::function<void()>& reclaim) {
        reclaim();
        finish(CopyResult::kCompleted);
      },
      [this](CopyResult result) { finish(result); });
}

void HostEnd::read(uint32_t max, OnRead on_read) {
  copy(true, std::make_unique<HostBuffer>(HostBuffer::room(shared_->element(), max)),
       std::move(on_read));
}

void HostEnd::read_all(uint32_t chunk, std::function<void(std::string_view)> on_bytes,
                       std::function<void()> on_end) {
  read(chunk, [this, chunk, on_bytes = std::move(on_bytes), on_end = std::move(on_end)](
                  HostBuffer& buffer, CopyResult result) mutable {
    if (!buffer.received_bytes().empty()) on_bytes(buffer.received_bytes());
    if (result == CopyResult::kDropped) return on_end();
    read_all(chunk, std::move(on_bytes), std::move(on_end));
  });
}

void HostEnd::write(HostBuffer values, OnWritten on_written) {
  copy(false, std::make_unique<HostBuffer>(std::move(values)),
       [on_written = std::move(on_written)](HostBuffer& buffer, CopyResult result) {
         on_written(buffer.progress, result);
       });
}

void HostEnd::cancel() {
  if (busy()) shared_->cancel();
}

namespace {

// Writes what is left, again and again, until the reader took it all or went away.
struct Feeder : std::enable_shared_from_this<Feeder> {
  std::unique_ptr<HostEnd> end;
  std::vector<Val> values;
  size_t next = 0;

  void step() {
    if (next >= values.size()) {
      end.reset();  // the writer is done: the reader's next read says DROPPED
      return;
    }
    std::vector<Val> rest(values.begin() + static_cast<std::ptrdiff_t>(next), values.end());
    end->write(HostBuffer(end->shared()->element(), std::move(rest)),
               [self = shared_from_this()](uint32_t written, CopyResult result) {
                 self->next += written;
                 if (result == CopyResult::kDropped) self->next = self->values.size();
                 self->step();
               });
  }
};

}  // namespace

void feed(std::unique_ptr<HostEnd> end, std::vector<Val> values) {
  auto feeder = std::make_shared<Feeder>();
  feeder->end = std::move(end);
  feeder->values = std::move(values);
  feeder->step();
}

uint32_t lower_channel(const CanonContext& cx, const Val& value, const ValueType& type) {
  std::shared_ptr<SharedChannel> shared;
  if (value.bits != 0) {
    std::unique_ptr<HostEnd> end = cx.concurrency ? cx.concurrency->unpark(value.bits) : nullptr;
    if (!end || !end->readable() || end->busy())
      trap("the host passed a stream or future that is not a readable end it holds");
    if (!same_type(*end->shared()->type(), type))
      trap("the host passed a stream or future of another type");
    shared = end->release();
  } else {
    shared = std::make_shared<SharedChannel>(&type);
    std::vector<Val> values = value.items;
    if (type.kind == ValueKind::kFuture && values.empty() && shared->element() == nullptr)
      values.emplace_back();  // a future without a type: its one value is nothing
    feed(std::make_unique<HostEnd>(shared, false), std::move(values));
  }
  HandleEntry entry;
  entry.kind =
      type.kind == ValueKind::kStream ? HandleKind::kReadableStream : HandleKind::kReadableFuture;
  entry.object = std::make_shared<CopyEnd>(std::move(shared), true);
  auto index = cx.handles->add(std::move(entry));
  if (!index) trap("the handle table is full");
  return *index;
}

Val lift_channel(const CanonContext& cx, uint32_t index, const ValueType& type) {
  const bool stream = type.kind == ValueKind::kStream;
  HandleEntry* entry = cx.handles->get(index);
  if (entry == nullptr ||
      entry->kind != (stream ? HandleKind::kReadableStream : HandleKind::kReadableFuture)) {
    trap("handle " + std::to_string(index) + " is not " +
         (stream ? "a readable stream end" : "a readable future end"));
  }
  auto& end = static_cast<CopyEnd&>(*entry->object);
  if (!same_type(*end.shared->type(), type))
    trap("handle " + std::to_string(index) + " is a stream or future of another type");
  if (end.state != CopyState::kIdle)
    trap("handle " + std::to_string(index) + " cannot be passed while it copies or after its end");
  if (cx.concurrency == nullptr) trap("a stream or future cannot be passed here");
  std::shared_ptr<SharedChannel> shared = std::move(end.shared);
  cx.handles->remove(index);
  Val out;
  out.kind = type.kind;
  out.bits = cx.concurrency->park(std::make_unique<HostEnd>(std::move(shared), true));
  return out;
}

}  // namespace gyre::component
