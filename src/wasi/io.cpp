#include "wasi/io.hpp"

#include <algorithm>
#include <thread>

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
StreamResult<host::ByteString> blocking_read(InputStream& stream, uint64_t len) {
  for (;;) {
    auto result = stream.read(std::min(len, kMaxChunk));
    if (!result.is_ok() || !std::get<0>(result.value).empty() || len == 0) return result;
    stream.subscribe()->block();
  }
}

StreamResult<Unit> write_all(OutputStream& out, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    auto budget = out.check_write();
    if (!budget.is_ok()) return StreamResult<Unit>::err(std::move(std::get<1>(budget.value)));
    const uint64_t n = std::min<uint64_t>(std::get<0>(budget.value), bytes.size());
    if (n == 0) {
      out.subscribe()->block();
      continue;
    }
    auto written = out.write(bytes.first(n));
    if (!written.is_ok()) return written;
    bytes = bytes.subspan(n);
  }
  return out.flush();
}

// `before_waiting` runs once, when nothing is ready and poll is about to wait.
std::vector<uint32_t> poll(std::vector<Borrow<Pollable>>& in,
                           const std::function<void()>& before_waiting) {
  if (in.empty()) throw host::ConversionError{"poll: the list of pollables is empty"};
  using Clock = std::chrono::steady_clock;
  // Without timers, look again at least this often: a pollable that cannot signal its
  // readiness is then checked every millisecond by its own wait_for.
  constexpr auto kLongestWait = std::chrono::milliseconds(100);
  bool waited = false;
  for (;;) {
    std::vector<uint32_t> ready;
    std::optional<Clock::time_point> earliest;
    Pollable* waiter = nullptr;
    size_t waiters = 0;
    for (uint32_t i = 0; i < in.size(); ++i) {
      if (in[i]->ready()) ready.push_back(i);
      if (auto at = in[i]->deadline()) {
        earliest = earliest ? std::min(*earliest, *at) : *at;
      } else {
        waiter = in[i].object;
        ++waiters;
      }
    }
    if (!ready.empty()) return ready;
    if (!waited) before_waiting();
    waited = true;
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

void before_blocking(Context& cx) {
  cx.instance.host_state<BeforeBlocking>().run();
}

}  // namespace

void Pollable::block() {
  while (!ready())
    wait_for(std::chrono::milliseconds(100));
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
    if (!self->ready()) before_blocking(cx);
    self->block();
  });
  define(imports, kPoll, "poll", [](Context& cx, std::vector<Borrow<Pollable>> in) {
    return poll(in, [&] { before_blocking(cx); });
  });

  define(imports, kError, "[method]error.to-debug-string",
         [](Context&, Borrow<IoError> self) { return self->message(); });

  define(imports, kStreams, "[method]input-stream.read",
         [](Context&, Borrow<InputStream> self, uint64_t len) {
           return self->read(std::min(len, kMaxChunk));
         });
  define(imports, kStreams, "[method]input-stream.blocking-read",
         [](Context& cx, Borrow<InputStream> self, uint64_t len) {
           before_blocking(cx);
           return blocking_read(*self, len);
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
           auto bytes = blocking_read(*self, len);
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
         [](Context&, Borrow<OutputStream> self, host::Bytes bytes) -> StreamResult<Unit> {
           if (bytes.size() > kBlockingWriteMax) {
             return StreamResult<Unit>::err(
                 StreamError::failed("blocking-write-and-flush of more than 4096 bytes"));
           }
           return write_all(*self, bytes);
         });
  define(imports, kStreams, "[method]output-stream.flush",
         [](Context&, Borrow<OutputStream> self) { return self->flush(); });
  define(imports, kStreams, "[method]output-stream.blocking-flush",
         [](Context&, Borrow<OutputStream> self) { return self->flush(); });
  define(imports, kStreams, "[method]output-stream.subscribe",
         [](Context&, Borrow<OutputStream> self) { return Own<Pollable>{self->subscribe()}; });
  define(imports, kStreams, "[method]output-stream.write-zeroes",
         [](Context&, Borrow<OutputStream> self, uint64_t len) {
           const std::vector<uint8_t> zeroes(std::min(len, kMaxChunk), 0);
           return self->write(zeroes);
         });
  define(imports, kStreams, "[method]output-stream.blocking-write-zeroes-and-flush",
         [](Context&, Borrow<OutputStream> self, uint64_t len) {
           const std::vector<uint8_t> zeroes(std::min(len, kMaxChunk), 0);
           return write_all(*self, zeroes);
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
           auto bytes = blocking_read(*src, len);
           if (!bytes.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(bytes.value)));
           auto written = write_all(*self, std::get<0>(bytes.value).view());
           if (!written.is_ok())
             return StreamResult<uint64_t>::err(std::move(std::get<1>(written.value)));
           return StreamResult<uint64_t>::ok(std::get<0>(bytes.value).size());
         });
}

}  // namespace gyre::wasi
