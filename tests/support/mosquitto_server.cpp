#include "support/mosquitto_server.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <vector>

namespace gyre::testing {
namespace {

namespace fs = std::filesystem;

// MQTT's encodings: a variable-length remaining length, and length-prefixed strings.
std::string remaining_length(size_t n) {
  std::string out;
  do {
    uint8_t byte = n % 128;
    n /= 128;
    if (n > 0) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (n > 0);
  return out;
}
std::string mqtt_string(const std::string& s) {
  return std::string{static_cast<char>(s.size() >> 8), static_cast<char>(s.size() & 0xff)} + s;
}
std::string packet(uint8_t first, const std::string& body) {
  return static_cast<char>(first) + remaining_length(body.size()) + body;
}

}  // namespace

MosquittoServer::MosquittoServer() : server_("mosquitto") {
  const fs::path dir = server_.dir();
  server_.start(
      [dir](uint16_t port) {
        const fs::path config = dir / "mosquitto.conf";
        std::ofstream out(config);
        out << "listener " << port << " 127.0.0.1\n"
            << "allow_anonymous true\n"
            << "persistence false\n"
            << "log_dest file " << (dir / "mosquitto.log").string() << "\n";
        // As root, mosquitto would otherwise drop to a `mosquitto` user that may not exist.
        if (geteuid() == 0) out << "user root\n";
        return std::vector<std::string>{"mosquitto", "-c", config.string()};
      },
      [](uint16_t port) {
        const int fd = connect_loopback(port);
        if (fd >= 0) close(fd);
        return fd >= 0;
      },
      "mosquitto.out");
}

MosquittoServer::~MosquittoServer() = default;

std::string MosquittoServer::url(const std::string& client_id) const {
  return "mqtt://127.0.0.1:" + std::to_string(port()) + "?client_id=" + client_id;
}

std::string MosquittoServer::output() const {
  return server_.read({"mosquitto.out", "mosquitto.log"});
}

MqttSubscriber::MqttSubscriber(uint16_t port, const std::string& topic_filter, int qos) {
  fd_ = connect_loopback(port);
  if (fd_ < 0) return;
  const timeval failsafe{30, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &failsafe, sizeof failsafe);
  static std::atomic<int> counter{0};
  const std::string id =
      "gyre-test-sub-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  // CONNECT: protocol "MQTT" level 4 (3.1.1), clean session, keep-alive 60 s.
  if (!send_all(
          packet(0x10, mqtt_string("MQTT") + std::string("\x04\x02\x00\x3c", 4) + mqtt_string(id))))
    return;
  auto connack = read_packet();
  if (!connack || connack->first != 0x20 || connack->second.size() < 2 || connack->second[1] != 0)
    return;
  // SUBSCRIBE, packet id 1.
  if (!send_all(packet(
          0x82, std::string("\x00\x01", 2) + mqtt_string(topic_filter) + static_cast<char>(qos))))
    return;
  auto suback = read_packet();
  subscribed_ = suback && suback->first == 0x90 && suback->second.size() >= 3 &&
                static_cast<uint8_t>(suback->second[2]) != 0x80;
}

MqttSubscriber::~MqttSubscriber() {
  if (fd_ < 0) return;
  send_all(std::string("\xe0\x00", 2));  // DISCONNECT
  close(fd_);
}

bool MqttSubscriber::send_all(const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::pair<uint8_t, std::string>> MqttSubscriber::read_packet() {
  auto read_exactly = [this](size_t n) -> std::optional<std::string> {
    std::string out(n, '\0');
    size_t done = 0;
    while (done < n) {
      const ssize_t got = recv(fd_, out.data() + done, n - done, 0);
      if (got <= 0) return std::nullopt;
      done += static_cast<size_t>(got);
    }
    return out;
  };
  auto first = read_exactly(1);
  if (!first) return std::nullopt;
  size_t length = 0;
  for (int shift = 0; shift < 28; shift += 7) {
    auto byte = read_exactly(1);
    if (!byte) return std::nullopt;
    length |= static_cast<size_t>(static_cast<uint8_t>((*byte)[0]) & 0x7f) << shift;
    if ((static_cast<uint8_t>((*byte)[0]) & 0x80) == 0) break;
  }
  auto body = read_exactly(length);
  if (!body) return std::nullopt;
  return std::pair{static_cast<uint8_t>((*first)[0]), std::move(*body)};
}

std::optional<MqttMessage> MqttSubscriber::next() {
  if (fd_ < 0) return std::nullopt;
  while (auto p = read_packet()) {
    if ((p->first >> 4) != 3) continue;  // not a PUBLISH
    const std::string& body = p->second;
    if (body.size() < 2) return std::nullopt;
    const size_t topic_length =
        (static_cast<size_t>(static_cast<uint8_t>(body[0])) << 8) | static_cast<uint8_t>(body[1]);
    MqttMessage message;
    message.qos = (p->first >> 1) & 3;
    size_t at = 2 + topic_length;
    if (body.size() < at) return std::nullopt;
    message.topic = body.substr(2, topic_length);
    std::string id;
    if (message.qos > 0) {
      if (body.size() < at + 2) return std::nullopt;
      id = body.substr(at, 2);
      at += 2;
    }
    message.payload = body.substr(at);
    if (message.qos == 1) send_all(packet(0x40, id));  // PUBACK
    if (message.qos == 2) {
      send_all(packet(0x50, id));  // PUBREC, then PUBREL from the broker, then PUBCOMP
      auto pubrel = read_packet();
      if (!pubrel || pubrel->first != 0x62) return std::nullopt;
      send_all(packet(0x70, id));
    }
    return message;
  }
  return std::nullopt;
}

}  // namespace gyre::testing
