#include "support/mosquitto_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace gyre::testing {
namespace {

namespace fs = std::filesystem;

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A TCP connection to 127.0.0.1:port, or -1.
int connect_to(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

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

MosquittoServer::MosquittoServer() {
  static std::atomic<int> counter{0};
  dir_ = fs::temp_directory_path() /
         ("gyre-mosquitto-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  // Another process may take the port between our pick and the broker's bind: try again.
  for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
    if (start(free_port())) break;
    stop();
  }
}

MosquittoServer::~MosquittoServer() {
  stop();
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

std::string MosquittoServer::url(const std::string& client_id) const {
  return "mqtt://127.0.0.1:" + std::to_string(port_) + "?client_id=" + client_id;
}

bool MosquittoServer::start(uint16_t port) {
  if (port == 0) return false;
  const fs::path config = dir_ / "mosquitto.conf";
  {
    std::ofstream out(config);
    out << "listener " << port << " 127.0.0.1\n"
        << "allow_anonymous true\n"
        << "persistence false\n"
        << "log_dest file " << (dir_ / "mosquitto.log").string() << "\n";
    // As root, mosquitto would otherwise drop to a `mosquitto` user that may not exist.
    if (geteuid() == 0) out << "user root\n";
  }
  pid_ = fork();
  if (pid_ == 0) {
    const int null = open("/dev/null", O_RDWR);
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execlp("mosquitto", "mosquitto", "-c", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Until it accepts connections, or exits (a taken port, a missing binary), or a minute.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (std::chrono::steady_clock::now() < give_up) {
    if (const int fd = connect_to(port); fd >= 0) {
      close(fd);
      port_ = port;
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void MosquittoServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string MosquittoServer::output() const {
  std::ifstream in(dir_ / "mosquitto.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

MqttSubscriber::MqttSubscriber(uint16_t port, const std::string& topic_filter, int qos) {
  fd_ = connect_to(port);
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
