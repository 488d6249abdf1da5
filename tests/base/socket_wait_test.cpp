// wait_socket without a fiber: it blocks in poll(2) until the socket is ready or the time
// given passes.
#include "base/socket_wait.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace {

using gyre::SocketWait;
using namespace std::chrono_literals;

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0); }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

TEST(WaitSocket, AQuietSocketTimesOut) {
  SocketPair pair;
  const auto until = gyre::Suspender::Clock::now() + 20ms;
  EXPECT_EQ(gyre::wait_socket(nullptr, pair.fds[0], gyre::kSocketReadable, until),
            SocketWait::kTimedOut);
  EXPECT_GE(gyre::Suspender::Clock::now(), until);
}

TEST(WaitSocket, ASocketWithDataIsReadable) {
  SocketPair pair;
  ASSERT_EQ(::write(pair.fds[1], "x", 1), 1);
  EXPECT_EQ(gyre::wait_socket(nullptr, pair.fds[0], gyre::kSocketReadable, std::nullopt),
            SocketWait::kReady);
}

TEST(WaitSocket, AnEmptySendBufferIsWritable) {
  SocketPair pair;
  EXPECT_EQ(gyre::wait_socket(nullptr, pair.fds[0], gyre::kSocketWritable,
                              gyre::Suspender::Clock::now() + 1s),
            SocketWait::kReady);
}

TEST(WaitSocket, APeerThatHangsUpWakesAReader) {
  SocketPair pair;
  ::close(pair.fds[1]);
  pair.fds[1] = -1;
  EXPECT_EQ(gyre::wait_socket(nullptr, pair.fds[0], gyre::kSocketReadable, std::nullopt),
            SocketWait::kReady);
}

}  // namespace
