#include "holding_broker.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <list>

namespace gyre::spin::mqtt::testing {
namespace {

void send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string puback(uint16_t id) {
  return std::string{'\x40', '\x02', static_cast<char>(id >> 8), static_cast<char>(id & 0xff)};
}

}  // namespace

HoldingBroker::HoldingBroker(size_t count) : holding_(count) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
      ::listen(listener_, 128) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    return;
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { run(); });
}

HoldingBroker::~HoldingBroker() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (listener_ >= 0) ::close(listener_);
}

bool HoldingBroker::all_arrived(std::chrono::seconds guard) {
  std::unique_lock lock(mutex_);
  const bool all = changed_.wait_for(lock, guard, [&] { return holding_ == 0; });
  release_locked();
  return all;
}

std::vector<std::string> HoldingBroker::payloads() {
  std::lock_guard lock(mutex_);
  return payloads_;
}

void HoldingBroker::release_locked() {
  holding_ = 0;
  for (const Ack& ack : held_)
    send_all(ack.fd, puback(ack.packet_id));
  held_.clear();
}

void HoldingBroker::run() {
  std::list<Client> clients;
  while (!stop_) {
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (const Client& client : clients)
      fds.push_back({client.fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) clients.push_back({fd, {}});
    }
    size_t i = 1;
    for (auto it = clients.begin(); it != clients.end() && i < fds.size(); ++i) {
      if (fds[i].revents != 0 && !serve(*it)) {
        std::lock_guard lock(mutex_);
        ::close(it->fd);
        it = clients.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const Client& client : clients)
    ::close(client.fd);
}

bool HoldingBroker::serve(Client& client) {
  char buffer[4096];
  const ssize_t n = ::recv(client.fd, buffer, sizeof buffer, 0);
  if (n <= 0) return false;
  client.in.append(buffer, static_cast<size_t>(n));
  for (;;) {
    // Fixed header: the type byte, then the remaining length (7 bits a byte).
    size_t length = 0, at = 1;
    int shift = 0;
    bool complete = false;
    while (at < client.in.size() && at <= 4) {
      const auto byte = static_cast<uint8_t>(client.in[at++]);
      length |= size_t{byte & 0x7fu} << shift;
      shift += 7;
      if ((byte & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete || client.in.size() < at + length) return true;
    const auto type = static_cast<uint8_t>(client.in[0]);
    const std::string body = client.in.substr(at, length);
    client.in.erase(0, at + length);
    switch (type >> 4) {
      case 1:  // CONNECT
        send_all(client.fd, std::string("\x20\x02\x00\x00", 4));
        break;
      case 3: {  // PUBLISH
        const int qos = (type >> 1) & 3;
        const size_t topic = (static_cast<uint8_t>(body[0]) << 8) | static_cast<uint8_t>(body[1]);
        size_t payload = 2 + topic;
        uint16_t id = 0;
        if (qos > 0) {
          id = static_cast<uint16_t>((static_cast<uint8_t>(body[payload]) << 8) |
                                     static_cast<uint8_t>(body[payload + 1]));
          payload += 2;
        }
        std::lock_guard lock(mutex_);
        payloads_.push_back(body.substr(payload));
        if (qos == 0) break;
        if (holding_ == 0) {
          send_all(client.fd, puback(id));
          break;
        }
        held_.push_back({client.fd, id});
        if (held_.size() >= holding_) {
          release_locked();
          changed_.notify_all();
        }
        break;
      }
      case 12:  // PINGREQ
        send_all(client.fd, std::string("\xd0\x00", 2));
        break;
      case 14:  // DISCONNECT
        return false;
      default:
        break;
    }
  }
}

}  // namespace gyre::spin::mqtt::testing
