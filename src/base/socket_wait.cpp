#include "base/socket_wait.hpp"

#include <poll.h>

#include <algorithm>
#include <cerrno>

namespace gyre {
namespace {

using Clock = Suspender::Clock;

short poll_events(uint8_t ready) {
  return static_cast<short>(((ready & kSocketReadable) ? POLLIN : 0) |
                            ((ready & kSocketWritable) ? POLLOUT : 0));
}

// Milliseconds until `until` (rounded up, so a wait never ends early), or -1: forever.
int poll_timeout(std::optional<Clock::time_point> until) {
  if (!until) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*until - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

// Waits in poll(2) up to `timeout_ms` (-1: forever) for `fd` to be ready.
bool poll_ready(int fd, uint8_t ready, int timeout_ms) {
  pollfd p{fd, poll_events(ready), 0};
  int n;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n != 0;
}

}  // namespace

bool socket_ready_now(int fd, uint8_t ready) {
  return poll_ready(fd, ready, 0);
}

SocketWait wait_socket(Suspender* suspender, int fd, uint8_t ready,
                       std::optional<Clock::time_point> until) {
  if (suspender == nullptr) {
    return poll_ready(fd, ready, poll_timeout(until)) ? SocketWait::kReady : SocketWait::kTimedOut;
  }
  if (!suspender->suspend_on_socket(fd, ready, until)) return SocketWait::kStopped;
  if (until && Clock::now() >= *until && !socket_ready_now(fd, ready)) return SocketWait::kTimedOut;
  return SocketWait::kReady;
}

}  // namespace gyre
