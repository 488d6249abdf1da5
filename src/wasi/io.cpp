#include "wasi/io.hpp"

#include <algorithm>
#include <thread>

#include "base/suspender.hpp"
#include "component/concurrency/concurrency.hpp"

namespace gyre::wasi {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;

// Chunk a single write may carry; larger writes are refused by check-write as WASI asks.
constexpr uint64_t kWriteBudget = 1 << 20;
// WASI limits the convenience blocking-write-and-flush to this much, as Wasmtime enforces.
constexpr uint64_t kBlockingWriteMax = 4096;
// Largest single read or zero-fill, so a guest cannot make the host allocate at will.
constexpr uint64_t kMaxChunk = 1 << 20;

constexpr const char* kPoll = "wasi:io/poll@0.2.0";
constexpr const char* kError = "wasi:io/error@0.2.0";
constexpr const char* kStreams = "wasi:io/streams@0.2.0";

// Reads until at least one byte (or the end) arrives.
StreamResult<host::ByteString> blocking_read(Context& cx, InputStream& stream, uint64_t len) {
  for (;;) {
    auto result = stream.read(std::min(len, kMaxChunk));
    if (!result.is_ok() || !std::get<0>(result.value).empty() || len == 0) return result;
    const auto ready = stream.subscribe();
    Pollable* const one[] = {ready.get()};
    wait_any(cx.instance, one);
  }
}

// Flushes, then waits until what was written has left the host (WASI's blocking-flush).
StreamResult<Unit> blocking_flush(Context& cx, OutputStream& out) {
  auto flushed = out.flush();
  while (flushed.is_ok() && !out.flushed()) {
    const auto room = out.subscribe();
    Pollable* const one[] = {room.get()};
    wait_any(cx.instance, one);
    flushed = out.flush();
  }
  return flushed;
}

StreamResult<Unit> write_all(Context& cx, OutputStream& out, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    auto budget = out.check_write();
    if (!budget.is_ok()) return StreamResult<Unit>::err(std::move(std::get<1>(budget.value)));
    const uint64_t n = std::min<uint64_t>(std::get<0>(budget.value), bytes.size());
    if (n == 0) {
      const auto room = out.subscribe();
      Pollable* const one[] = {room.get()};
      wait_any(cx.instance, one);
      continue;
    }
    auto written = out.write(bytes.first(n));
    if (!written.is_ok()) return written;
    bytes = bytes.subspan(n);
  }
  return blocking_flush(cx, out);
}

using Clock = std::chrono::steady_clock;

// Without a fiber: sleeps on the pollables until one is ready. Without timers it looks
// again at least this often, and a pollable that cannot signal its readiness is checked
// every millisecond by its own wait_for.
void block_thread(std::span<Pollable* const> in) {
  constexpr auto kLongestWait = std::chrono::milliseconds(100);
  for (;;) {
    std::optional<Clock::time_point> earliest;
    Pollable* waiter = nullptr;
    size_t waiters = 0;
    for (Pollable* p : in) {
      if (p->ready()) return;
      if (auto at = p->deadline()) {
        earliest = earliest ? std::min(*earliest, *at) : *at;
      } else {
        waiter = p;
        ++waiters;
      }
    }
    const auto budget = earliest ? std::min<Clock::duration>(*earliest - Clock::now(), kLongestWait)
                                 : Clock::duration(kLongestWait);
    if (waiters == 0) {
      std::this_thread::sleep_until(*earliest);
    } else if (waiters == 1) {
      // The common case (one body or one response, perhaps with a timeout): sleep on it.
      waiter->wait_for(budget);
    } else {
      std::this_thread::sleep_for(std::min<Clock::duration>(budget, std::chrono::milliseconds(1)));
    }
  }
}

// On a fiber: suspends until a pollable wakes it or the earliest timer is due; a pollable
// that cannot signal is looked at again after a millisecond (its thread is free meanwhile).
void suspend_fiber(Suspender& suspender, std::span<Pollable* const> in) {
  for (;;) {
    std::optional<Clock::time_point> until;
    std::vector<Pollable*> silent;
    const Suspender::Wake wake = suspender.waker();
    // Asked to be woken first, then looked at: a change in between still wakes the fiber.
    // A socket is watched from when the fiber suspends, level-triggered, so a socket that
    // became ready in between is seen too.
    for (Pollable* p : in) {
      if (auto at = p->deadline()) {
        until = until ? std::min(*until, *at) : *at;
      } else if (!p->notify(wake)) {
        silent.push_back(p);
      }
    }
    for (Pollable* p : in)
      if (p->ready()) return;
    std::vector<SocketInterest> sockets;
    bool unwatched = false;
    for (Pollable* p : silent) {
      if (auto socket = p->socket()) {
        sockets.push_back(*socket);
      } else {
        unwatched = true;
      }
    }
    if (unwatched) {
      const auto soon = Clock::now() + std::chrono::milliseconds(1);
      until = until ? std::min(*until, soon) : soon;
    }
    const bool go_on =
        sockets.empty() ? suspender.suspend(until) : suspender.suspend_on_sockets(sockets, until);
    if (!go_on) {
      throw host::ConversionError{kStoppedWhileWaiting};
    }
  }
}

std::vector<uint32_t> poll(Context& cx, std::vector<Borrow<Pollable>>& in) {
  if (in.empty()) throw host::ConversionError{"poll: the list of pollables is empty"};
  std::vector<Pollable*> all;
  all.reserve(in.size());
  for (auto& p : in)
    all.push_back(p.object);
  for (;;) {
    std::vector<uint32_t> ready;
    for (uint32_t i = 0; i < all.size(); ++i)
      if (all[i]->ready()) ready.push_back(i);
    if (!ready.empty()) return ready;
    wait_any(cx.instance, all);
  }
}

void before_blocking(Context& cx) {
  cx.instance.host_state<BeforeBlocking>().run();
}

}  // namespace

void wait_any(component::ComponentInstance& instance, std::span<Pollable* const> pollables) {
  for (Pollable* p : pollables)
    if (p->ready()) return;
  instance.host_state<BeforeBlocking>().run();
  if (Suspender* suspender = instance.concurrency().scheduler.suspender()) {
    suspend_fiber(*suspender, pollables);
  } else {
    block_thread(pollables);
  }
}

void Pollable::wait_for(std::chrono::steady_clock::duration max) {
  std::this_thread::sleep_for(
      std::min<std::chrono::steady_clock::duration>(max, std::chrono::milliseconds(1)));
}

void DeadlinePollable::wait_for(std::chrono::steady_clock::duration max) {
  std::this_thread::sleep_until(std::min(at_, std::chrono::steady_clock::now() + max));
}

StreamResult<uint64_t> SinkOutputStream::check_write() {
  return StreamResult<uint64_t>::ok(kWriteBudget);
}

StreamResult<Unit> SinkOutputStream::write(std::span<const uint8_t> bytes) {
  if (bytes.size() > kWriteBudget) {
    return StreamResult<Unit>::err(StreamError::failed("write larger than check-write allowed"));
  }
  sink_({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  return StreamResult<Unit>::ok({});
}

void add_io(component::HostImports& imports) {
  using host::define;
  host::define_resource<Pollable>(imports, kPoll, "pollable");
  host::define_resource<IoError>(imports, kError, "error");
  host::define_resource<InputStream>(imports, kStreams, "input-stream");
  host::define_resource<OutputStream>(imports, kStreams, "output-stream");

  define(imports, kPoll, "[method]pollable.ready",
         [](Context&, Borrow<Pollable> self) { return self->ready(); });
  define(imports, kPoll, "[method]pollable.block", [](Context& cx, Borrow<Pollable> self) {
    Pollable* const one[] = {self.object};
    wait_any(cx.instance, one);
  });
  define(imports, kPoll, "poll",
         [](Context& cx, std::vector<Borrow<Pollable>> in) { return poll(cx, in); });

  define(imports, kError, "[method]error.to-debug-string",
         [](Context&, Borrow<IoError> self) { return self->message(); });

  define(imports, kStreams, "[method]input-stream.read",
         [](Context&, Borrow<InputStream> self, uint64_t len) {
           return self->read(std::min(len, kMaxChunk));
         });
  define(imports, kStreams, "[method]input-stream.blocking-read",
         [](Context& cx, Borrow<InputStream> self, uint64_t len) {
           before_blocking(cx);
           return blocking_read(cx, *self, len);
         });
  define(imports, kStreams, "[method]input-stream.skip",
         [](Context&, Borrow<InputStream> self, uint64_t len) {
           auto bytes = self->read(std::min(len, kMaxChunk));
           if (!bytes.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(bytes.value)));
           return StreamResult<uint64_t>::ok(std::get<0>(bytes.value).size());
         });
  define(imports, kStreams, "[method]input-stream.blocking-skip",
         [](Context& cx, Borrow<InputStream> self, uint64_t len) {
           before_blocking(cx);
           auto bytes = blocking_read(cx, *self, len);
           if (!bytes.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(bytes.value)));
           return StreamResult<uint64_t>::ok(std::get<0>(bytes.value).size());
         });
  define(imports, kStreams, "[method]input-stream.subscribe",
         [](Context&, Borrow<InputStream> self) { return Own<Pollable>{self->subscribe()}; });

  define(imports, kStreams, "[method]output-stream.check-write",
         [](Context&, Borrow<OutputStream> self) { return self->check_write(); });
  define(imports, kStreams, "[method]output-stream.write",
         [](Context&, Borrow<OutputStream> self, host::Bytes bytes) { return self->write(bytes); });
  define(imports, kStreams, "[method]output-stream.blocking-write-and-flush",
         [](Context& cx, Borrow<OutputStream> self, host::Bytes bytes) -> StreamResult<Unit> {
           if (bytes.size() > kBlockingWriteMax) {
             return StreamResult<Unit>::err(
                 StreamError::failed("blocking-write-and-flush of more than 4096 bytes"));
           }
           return write_all(cx, *self, bytes);
         });
  define(imports, kStreams, "[method]output-stream.flush",
         [](Context&, Borrow<OutputStream> self) { return self->flush(); });
  define(imports, kStreams, "[method]output-stream.blocking-flush",
         [](Context& cx, Borrow<OutputStream> self) { return blocking_flush(cx, *self); });
  define(imports, kStreams, "[method]output-stream.subscribe",
         [](Context&, Borrow<OutputStream> self) { return Own<Pollable>{self->subscribe()}; });
  define(imports, kStreams, "[method]output-stream.write-zeroes",
         [](Context&, Borrow<OutputStream> self, uint64_t len) {
           const std::vector<uint8_t> zeroes(std::min(len, kMaxChunk), 0);
           return self->write(zeroes);
         });
  define(imports, kStreams, "[method]output-stream.blocking-write-zeroes-and-flush",
         [](Context& cx, Borrow<OutputStream> self, uint64_t len) {
           const std::vector<uint8_t> zeroes(std::min(len, kMaxChunk), 0);
           return write_all(cx, *self, zeroes);
         });
  define(imports, kStreams, "[method]output-stream.splice",
         [](Context&, Borrow<OutputStream> self, Borrow<InputStream> src, uint64_t len) {
           auto budget = self->check_write();
           if (!budget.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(budget.value)));
           auto bytes = src->read(std::min({len, kMaxChunk, std::get<0>(budget.value)}));
           if (!bytes.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(bytes.value)));
           auto written = self->write(std::get<0>(bytes.value).view());
           if (!written.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(written.value)));
           return StreamResult<uint64_t>::ok(std::get<0>(bytes.value).size());
         });
  define(imports, kStreams, "[method]output-stream.blocking-splice",
         [](Context& cx, Borrow<OutputStream> self, Borrow<InputStream> src, uint64_t len) {
           before_blocking(cx);
           auto bytes = blocking_read(cx, *src, len);
           if (!bytes.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(bytes.value)));
           auto written = write_all(cx, *self, std::get<0>(bytes.value).view());
           if (!written.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(written.value)));
           return StreamResult<uint64_t>::ok(std::get<0>(bytes.value).size());
         });
}

}  // namespace gyre::wasi
