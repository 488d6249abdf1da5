// The server's inside, shared by its connections: one request in progress as its handler
// sees it (an Exchange: the body to read, the response to write) and what an exchange asks
// of the connection it arrived on (a Connection, one per socket, whose work runs on the
// connection's strand). Only http/server.cpp includes this.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "http/handler.hpp"
#include "http/request_framing.hpp"

namespace gyre::http::server_detail {

using Done = ResponseWriter::Done;

struct Op {
  // whole: a head and the entire body, written at once (one write for both).
  enum class Kind { continue100, start, chunk, finish, whole };
  Kind kind;
  ResponseHead head;
  std::string data;
  Done done;
};

// Every name and value short enough for Beast's fields (it throws otherwise).
inline bool fits_a_field(const Headers& headers) {
  for (const Header& h : headers) {
    if (h.name.size() > kMaxFieldBytes || h.value.size() > kMaxFieldBytes) return false;
  }
  return true;
}

inline void complete(Done& done, bool ok) {
  if (done) std::exchange(done, {})(ok);
}

// What an exchange needs from its connection; implemented once per stream type.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;

  // Runs `fn` on the connection's strand unless the connection is gone (false then).
  bool try_post(std::function<void()> fn) {
    std::lock_guard lock(post_mutex_);
    if (gone_) return false;
    boost::asio::post(strand(), std::move(fn));
    return true;
  }

  virtual void body_read(uint64_t exchange, std::function<void(BodyChunk)> done) = 0;
  virtual void response_op(uint64_t exchange, Op op) = 0;
  virtual void abort_exchange(uint64_t exchange) = 0;
  virtual void abandon(uint64_t exchange) = 0;
  virtual void on_shutdown() = 0;
  virtual void force_close() = 0;

  // Tells the handler of the exchange in progress that nobody waits for its answer
  // (Request::cancelled). Any thread: a guest run in place holds the strand.
  void cancel_exchange() {
    std::lock_guard lock(post_mutex_);
    if (cancelled_) cancelled_->store(true);
  }

 protected:
  virtual boost::asio::any_io_executor strand() = 0;
  void mark_gone() {
    std::lock_guard lock(post_mutex_);
    gone_ = true;
  }
  // The flag cancel_exchange sets: the current exchange's, or none between exchanges.
  void set_cancel_flag(std::shared_ptr<std::atomic<bool>> flag) {
    std::lock_guard lock(post_mutex_);
    cancelled_ = std::move(flag);
  }

 private:
  std::mutex post_mutex_;
  bool gone_ = false;
  std::shared_ptr<std::atomic<bool>> cancelled_;
};

inline BodyChunk failed_chunk(std::string why) {
  return BodyChunk{{}, true, std::move(why)};
}

// The handler's view of one request: its body and its response.
class Exchange final : public BodyReader, public ResponseWriter {
 public:
  Exchange(std::shared_ptr<Connection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}

  ~Exchange() override {
    // A response the handler finished needs nothing more (abandon would do nothing).
    if (!finished_) connection_->try_post([c = connection_, id = id_] { c->abandon(id); });
  }

  void read(std::function<void(BodyChunk)> done) override {
    auto shared = std::make_shared<std::function<void(BodyChunk)>>(std::move(done));
    if (!connection_->try_post(
            [c = connection_, id = id_, shared] { c->body_read(id, std::move(*shared)); })) {
      (*shared)(failed_chunk("the connection is closed"));
    }
  }

  void start(ResponseHead head, Done done) override {
    submit(Op{Op::Kind::start, std::move(head), {}, std::move(done)});
  }
  void write(std::string chunk, Done done) override {
    submit(Op{Op::Kind::chunk, {}, std::move(chunk), std::move(done)});
  }
  void finish(Done done) override {
    finished_ = submit(Op{Op::Kind::finish, {}, {}, std::move(done)});
  }
  void respond(ResponseHead head, std::string body, Done done) override {
    finished_ = submit(Op{Op::Kind::whole, std::move(head), std::move(body), std::move(done)});
  }
  void abort() override {
    connection_->try_post([c = connection_, id = id_] { c->abort_exchange(id); });
  }

 private:
  // False if the connection is gone (the op's done callback is then told so).
  bool submit(Op op) {
    auto shared = std::make_shared<Op>(std::move(op));
    if (!connection_->try_post(
            [c = connection_, id = id_, shared] { c->response_op(id, std::move(*shared)); })) {
      complete(shared->done, false);
      return false;
    }
    return true;
  }

  std::shared_ptr<Connection> connection_;
  uint64_t id_;
  bool finished_ = false;  // a finish or whole response was handed to the connection
};

}  // namespace gyre::http::server_detail
