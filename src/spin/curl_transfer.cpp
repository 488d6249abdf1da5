#include "spin/curl_transfer.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>

#include "base/socket_wait.hpp"

namespace gyre::spin {
namespace {

using Clock = Suspender::Clock;

// What curl asked to be watched. curl may hold several sockets at once (its resolver's,
// a second address family's connect, a redirect's new connection), so they go into an
// epoll set of the transfer's own, and the guest waits on that one descriptor: readable
// whenever any of curl's sockets is ready.
struct Watch {
  int epoll = -1;
  std::optional<Clock::time_point> due;  // curl's timer, when it set one
};

int on_socket(CURL*, curl_socket_t socket, int what, void* user, void*) {
  auto* watch = static_cast<Watch*>(user);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(watch->epoll, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  event.data.fd = socket;
  if (epoll_ctl(watch->epoll, EPOLL_CTL_MOD, socket, &event) != 0)
    epoll_ctl(watch->epoll, EPOLL_CTL_ADD, socket, &event);
  return 0;
}

int on_timer(CURLM*, long ms, void* user) {
  auto* watch = static_cast<Watch*>(user);
  if (ms < 0) {
    watch->due.reset();
  } else {
    watch->due = Clock::now() + std::chrono::milliseconds(ms);
  }
  return 0;
}

// The easy handle's result, once curl says it is done.
std::optional<CURLcode> finished(CURLM* multi, CURL* easy) {
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
    if (message->msg == CURLMSG_DONE && message->easy_handle == easy) return message->data.result;
  }
  return std::nullopt;
}

class Multi {
 public:
  Multi() : multi_(curl_multi_init()), watch_{epoll_create1(EPOLL_CLOEXEC), std::nullopt} {}
  ~Multi() {
    if (multi_ != nullptr) {
      if (easy_ != nullptr) curl_multi_remove_handle(multi_, easy_);
      curl_multi_cleanup(multi_);
    }
    if (watch_.epoll >= 0) ::close(watch_.epoll);
  }
  Multi(const Multi&) = delete;
  Multi& operator=(const Multi&) = delete;

  std::optional<CURLcode> perform(CURL* easy, Suspender& suspender) {
    if (multi_ == nullptr || watch_.epoll < 0) return CURLE_OUT_OF_MEMORY;
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, &watch_);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, &watch_);
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) return CURLE_FAILED_INIT;
    easy_ = easy;
    int running = 1;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    while (running > 0) {
      if (wait_socket(&suspender, watch_.epoll, kSocketReadable, watch_.due) ==
          SocketWait::kStopped)
        return std::nullopt;
      std::array<epoll_event, 8> events;
      const int ready = epoll_wait(watch_.epoll, events.data(), events.size(), 0);
      for (int i = 0; i < ready; ++i) {
        const uint32_t bits = events[i].events;
        const int flags = ((bits & (EPOLLIN | EPOLLHUP)) ? CURL_CSELECT_IN : 0) |
                          ((bits & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                          ((bits & EPOLLERR) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi_, events[i].data.fd, flags, &running);
      }
      if (watch_.due && Clock::now() >= *watch_.due) {
        watch_.due.reset();
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
    }
    return finished(multi_, easy).value_or(CURLE_RECV_ERROR);
  }

 private:
  CURLM* multi_;
  CURL* easy_ = nullptr;
  Watch watch_;
};

}  // namespace

std::optional<CURLcode> perform_transfer(CURL* easy, Suspender* suspender) {
  if (suspender == nullptr) return curl_easy_perform(easy);
  return Multi().perform(easy, *suspender);
}

}  // namespace gyre::spin
