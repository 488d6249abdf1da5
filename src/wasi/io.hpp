// wasi:io 0.2 — error, poll, streams — as host objects. Streams and pollables are
// interfaces other layers implement (stdio here; HTTP bodies in http/); the guest sees
// them as resources whose lifetimes it controls.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/suspender.hpp"
#include "component/host_imports.hpp"
#include "host/define.hpp"

namespace gyre::wasi {

// Something a guest can wait for.
class Pollable {
 public:
  virtual ~Pollable() = default;
  virtual bool ready() = 0;
  // When the pollable becomes ready by itself at a known time (timers), so poll can sleep
  // until the earliest of them instead of spinning.
  virtual std::optional<std::chrono::steady_clock::time_point> deadline() const {
    return std::nullopt;
  }
  // Arranges for `wake` to be called (once, from any thread) when the pollable may have
  // become ready; false when this pollable cannot tell, and a waiting guest must look
  // again after a while. Timers need not: poll suspends until their deadline().
  virtual bool notify(const std::function<void()>& wake) {
    (void)wake;
    return false;
  }
  // The OS socket whose readiness this pollable waits for (wasi:sockets), if it is one:
  // a guest on a fiber then suspends with its lane's loop watching the socket. Asked
  // after ready() said no.
  virtual std::optional<SocketInterest> socket() { return std::nullopt; }
  // For a guest not on a fiber: holds the thread until ready or until `max` has passed,
  // whichever is first. Pollables whose readiness another thread produces override this
  // to sleep on their own condition; the default checks again after a millisecond.
  virtual void wait_for(std::chrono::steady_clock::duration max);
};

class ReadyPollable final : public Pollable {
 public:
  bool ready() override { return true; }
};

class DeadlinePollable final : public Pollable {
 public:
  explicit DeadlinePollable(std::chrono::steady_clock::time_point at) : at_(at) {}
  bool ready() override { return std::chrono::steady_clock::now() >= at_; }
  std::optional<std::chrono::steady_clock::time_point> deadline() const override { return at_; }
  void wait_for(std::chrono::steady_clock::duration max) override;

 private:
  std::chrono::steady_clock::time_point at_;
};

// wasi:io/error.error
class IoError {
 public:
  explicit IoError(std::string message, std::optional<int> os_error = std::nullopt)
      : message_(std::move(message)), os_error_(os_error) {}
  const std::string& message() const { return message_; }
  // The errno behind the error, when an OS call failed: what wasi:sockets'
  // network-error-code tells the guest.
  std::optional<int> os_error() const { return os_error_; }

 private:
  std::string message_;
  std::optional<int> os_error_;
};

// wasi:io/streams.stream-error
struct StreamError {
  std::variant<host::Own<IoError>, host::Unit> value;
  static StreamError closed() { return StreamError{host::Unit{}}; }
  static StreamError failed(std::string message, std::optional<int> os_error = std::nullopt) {
    return StreamError{host::Own<IoError>{std::make_unique<IoError>(std::move(message), os_error)}};
  }
};

template <class T>
using StreamResult = host::Result<T, StreamError>;

// wasi:io/streams.input-stream
class InputStream {
 public:
  virtual ~InputStream() = default;
  // Up to `max` bytes available now (possibly none), or closed / failed.
  virtual StreamResult<host::ByteString> read(uint64_t max) = 0;
  virtual std::unique_ptr<Pollable> subscribe() = 0;
};

// wasi:io/streams.output-stream
class OutputStream {
 public:
  virtual ~OutputStream() = default;
  // How many bytes write() accepts now.
  virtual StreamResult<uint64_t> check_write() = 0;
  virtual StreamResult<host::Unit> write(std::span<const uint8_t> bytes) = 0;
  virtual StreamResult<host::Unit> flush() = 0;
  virtual std::unique_ptr<Pollable> subscribe() = 0;
  // Whether all that was written has left the host: a blocking flush waits (on
  // subscribe()) until it has. Streams that hand writes on at once always are.
  virtual bool flushed() { return true; }
};

// An input stream that has ended (stdin of a component: Spin gives it nothing).
class ClosedInputStream final : public InputStream {
 public:
  StreamResult<host::ByteString> read(uint64_t) override {
    return StreamResult<host::ByteString>::err(StreamError::closed());
  }
  std::unique_ptr<Pollable> subscribe() override { return std::make_unique<ReadyPollable>(); }
};

// An output stream into a function (stdout and stderr into the log).
class SinkOutputStream final : public OutputStream {
 public:
  using Sink = std::function<void(std::string_view)>;
  explicit SinkOutputStream(Sink sink) : sink_(std::move(sink)) {}
  StreamResult<uint64_t> check_write() override;
  StreamResult<host::Unit> write(std::span<const uint8_t> bytes) override;
  StreamResult<host::Unit> flush() override { return StreamResult<host::Unit>::ok({}); }
  std::unique_ptr<Pollable> subscribe() override { return std::make_unique<ReadyPollable>(); }

 private:
  Sink sink_;
};

// What the host does before a guest blocks (in poll, pollable.block, or a blocking read,
// write or flush), per component instance: output the host buffered, such as a response
// body, goes out while the guest waits instead of when it next writes.
struct BeforeBlocking {
  std::vector<std::function<void()>> hooks;
  void run() const {
    for (const auto& hook : hooks)
      hook();
  }
};

// Waits until one of `pollables` is ready (nothing when one already is), as the instance's
// scheduler says: with a suspender (the guest runs on a fiber) the guest suspends and
// its thread serves others; without one, waiting holds the thread. Traps the guest (throws) when
// its suspension was ended to stop it.
void wait_any(component::ComponentInstance& instance, std::span<Pollable* const> pollables);

// Adds wasi:io/error, wasi:io/poll and wasi:io/streams 0.2.x.
void add_io(component::HostImports& imports);

}  // namespace gyre::wasi

namespace gyre::host {
template <>
struct VariantLabels<wasi::StreamError> {
  static constexpr const char* labels[] = {"last-operation-failed", "closed"};
};
}  // namespace gyre::host
