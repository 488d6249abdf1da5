// How a client of a network server (a database, Redis) waits on its non-blocking socket:
// on a guest's fiber, through its Suspender, so the guest parks and its lane serves other
// requests until the socket is ready; with no fiber (set-up before serving, tests), in
// poll(2). The clients keep their protocol code sequential: try the non-blocking step,
// wait when it would block, try again.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "base/suspender.hpp"

namespace gyre {

enum class SocketWait {
  kReady,     // ready, or perhaps only woken: try the step again
  kTimedOut,  // `until` passed first
  kStopped,   // the guest must stop (its deadline passed, its client left)
};

// Whether `fd` is ready for `ready` (SocketReady bits) now, without waiting; an error or a
// hang-up counts as ready (the next step reports it).
bool socket_ready_now(int fd, uint8_t ready);

// Waits until `fd` is ready for `ready` (SocketReady bits) or `until` passes.
SocketWait wait_socket(Suspender* suspender, int fd, uint8_t ready,
                       std::optional<Suspender::Clock::time_point> until);

}  // namespace gyre
