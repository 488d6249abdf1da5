// How host code that runs a guest on a fiber waits without holding its thread.
//
// A guest's host call that must wait (for a response, a body chunk, a timer) asks the
// Suspender to suspend it: the fiber stops, its thread goes back to its event loop and
// serves other requests, and the fiber resumes once something it waits for calls the
// waker, or once the time it gave passes. Host code always checks its condition again
// after a suspension: a wake only says "look again".
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace gyre {

// What a guest's call says when it had to give up a wait because the guest must stop (its
// deadline passed, its client went away): one wording wherever the wait was.
inline constexpr const char* kStoppedWhileWaiting = "the guest was stopped while it waited";

// What a wait on a socket waits for; the two may be combined.
enum SocketReady : uint8_t { kSocketReadable = 1, kSocketWritable = 2 };

// One socket a wait watches, and for what (SocketReady bits).
struct SocketInterest {
  int fd = -1;
  uint8_t ready = 0;
};

class Suspender {
 public:
  using Clock = std::chrono::steady_clock;
  using Wake = std::function<void()>;

  virtual ~Suspender() = default;

  // A callable that ends the current (or next) suspension. Any thread may call it, any
  // number of times, also after the guest has ended (it then does nothing).
  virtual Wake waker() = 0;

  // Suspends until woken or until `until` passes. False when the guest must stop instead
  // (its deadline passed, or nobody waits for its answer any more); the caller then traps.
  virtual bool suspend(std::optional<Clock::time_point> until = std::nullopt) = 0;

  // Suspends until any of the non-blocking sockets is ready for what its interest asks
  // (SocketReady bits), or until `until` passes: a network client's wait for its server,
  // or a guest's wasi:io/poll over wasi:sockets pollables, with no thread held. An fd may
  // appear more than once. Like suspend(), a wake only says "look again", and false means
  // the guest must stop. Most callers want wait_socket() (base/socket_wait.hpp), which
  // also works without a Suspender.
  virtual bool suspend_on_sockets(std::span<const SocketInterest> sockets,
                                  std::optional<Clock::time_point> until) = 0;
  // The same for one socket.
  bool suspend_on_socket(int fd, uint8_t ready, std::optional<Clock::time_point> until) {
    const SocketInterest one[] = {{fd, ready}};
    return suspend_on_sockets(one, until);
  }

  // Runs `work` on a thread where it may block (a host call Gyre cannot yet make without
  // blocking: a database client's), suspending the guest until it returns. Always waits
  // for `work` to end, whatever happens to the guest meanwhile: it may use the caller's
  // stack.
  virtual void offload(const std::function<void()>& work) = 0;
};

}  // namespace gyre
