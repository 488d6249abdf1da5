#include "trigger/component_handler.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "base/byte_copy.hpp"
#include "trigger/fiber_task.hpp"

namespace gyre::trigger {
namespace {

// The request body as a wasi:io input-stream. Chunks are read from the server as the guest
// asks for them; until one arrives the stream has nothing to give, and its pollable wakes
// a waiting guest when it does (or, for a guest not on a fiber, its thread).
class BodyInputStream final : public wasi::InputStream {
  // What the server's read callback shares with the guest's side.
  struct Arrival {
    std::mutex mutex;
    std::condition_variable arrived_cv;
    std::optional<http::BodyChunk> arrived;
    bool reading = false;
    std::function<void()> wake;
  };

  class Ready final : public wasi::Pollable {
   public:
    explicit Ready(BodyInputStream& stream) : stream_(stream) {}
    bool ready() override { return stream_.has_data(); }
    bool notify(const std::function<void()>& wake) override {
      std::lock_guard lock(stream_.arrival_->mutex);
      stream_.arrival_->wake = wake;
      return true;
    }
    void wait_for(std::chrono::steady_clock::duration max) override {
      std::unique_lock lock(stream_.arrival_->mutex);
      stream_.arrival_->arrived_cv.wait_for(lock, max,
                                            [&] { return stream_.arrival_->arrived.has_value(); });
    }

   private:
    BodyInputStream& stream_;
  };

 public:
  explicit BodyInputStream(std::shared_ptr<http::BodyReader> reader)
      : reader_(std::move(reader)), ended_(reader_ == nullptr) {}

  wasi::StreamResult<host::ByteString> read(uint64_t max) override {
    using R = wasi::StreamResult<host::ByteString>;
    if (!has_data()) return R::ok({});
    if (!error_.empty()) return R::err(wasi::StreamError::failed(error_));
    if (offset_ >= buffer_.size()) {
      buffer_.clear();
      return R::err(wasi::StreamError::closed());  // has_data() with nothing left: the end
    }
    const size_t n = std::min<uint64_t>(max, buffer_.size() - offset_);
    if (offset_ == 0 && n == buffer_.size()) {
      host::ByteString whole{std::move(buffer_)};  // handed over, not copied
      buffer_.clear();
      return R::ok(std::move(whole));
    }
    host::ByteString part{buffer_.substr(offset_, n)};
    offset_ += n;
    if (offset_ == buffer_.size()) {
      buffer_.clear();
      offset_ = 0;
    }
    return R::ok(std::move(part));
  }
  std::unique_ptr<wasi::Pollable> subscribe() override { return std::make_unique<Ready>(*this); }

 private:
  // Bytes to give, the end, or an error: takes an arrived chunk, or asks for the next.
  bool has_data() {
    if (!buffer_.empty() || ended_ || !error_.empty()) return true;
    std::unique_lock lock(arrival_->mutex);
    if (arrival_->arrived) {
      http::BodyChunk chunk = std::move(*arrival_->arrived);
      arrival_->arrived.reset();
      lock.unlock();
      buffer_ = std::move(chunk.data);
      offset_ = 0;
      ended_ = chunk.end;
      error_ = std::move(chunk.error);
      return !buffer_.empty() || ended_ || !error_.empty();
    }
    if (!arrival_->reading) {
      arrival_->reading = true;
      lock.unlock();
      reader_->read([arrival = arrival_](http::BodyChunk chunk) {
        std::function<void()> wake;
        {
          std::lock_guard lock(arrival->mutex);
          arrival->arrived = std::move(chunk);
          arrival->reading = false;
          wake.swap(arrival->wake);
        }
        arrival->arrived_cv.notify_all();
        if (wake) wake();
      });
    }
    return false;
  }

  std::shared_ptr<http::BodyReader> reader_;
  std::shared_ptr<Arrival> arrival_ = std::make_shared<Arrival>();
  std::string buffer_;
  size_t offset_ = 0;
  bool ended_ = false;
  std::string error_;
};

// The guest's response, onto the server's writer. The head and the body are held back
// until the guest finishes, blocks, or has written kCoalesceLimit bytes, so a response made
// at once leaves as one write; a guest that streams (and so waits between chunks) still
// sends each chunk as it blocks. A failure before anything was sent is a 500 with an empty
// body (as Spin answers), after it the connection is cut. Nothing here waits for the
// network unless more than kInFlightLimit bytes are still on their way.
class WriterSink final : public http::ResponseSink {
 public:
  explicit WriterSink(std::shared_ptr<http::ResponseWriter> writer)
      : writer_(std::move(writer)), in_flight_(std::make_shared<InFlight>()) {}
  void head(uint16_t status, http::Headers headers) override {
    head_.emplace();
    head_->status = status;
    head_->headers = std::move(headers);
  }
  void body(std::string_view chunk) override {
    pending_.append(chunk);
    if (pending_.size() >= kCoalesceLimit) send_pending();
  }
  void finish() override {
    if (!head_sent_ && head_) {
      head_sent_ = true;
      writer_->respond(std::move(*head_), std::move(pending_));
      return;
    }
    send_pending();
    writer_->finish();
  }
  void fail(const std::string&) override {
    if (head_sent_) {
      writer_->abort();
    } else {
      head_sent_ = true;
      writer_->respond(http::ResponseHead{500, {}}, "");
    }
  }
  // Called before the guest blocks.
  void flush() override {
    waited_ = true;
    send_pending();
  }
  bool waited() const { return waited_; }
  // From then on, waiting for room suspends the guest instead of holding its thread.
  void set_suspender(Suspender* suspender) { suspender_ = suspender; }

 private:
  void send_pending() {
    if (!head_ || (head_sent_ && pending_.empty())) return;
    if (!head_sent_) {
      head_sent_ = true;
      writer_->start(std::move(*head_));
    }
    if (pending_.empty()) return;
    in_flight_->wait_below(kInFlightLimit, suspender_);
    const size_t n = pending_.size();
    in_flight_->add(n);
    writer_->write(std::exchange(pending_, {}),
                   [in_flight = in_flight_, n](bool) { in_flight->remove(n); });
  }

  static constexpr size_t kCoalesceLimit = 64 * 1024;
  static constexpr size_t kInFlightLimit = 1 << 20;

  // Bytes handed to the writer and not yet on the socket.
  struct InFlight {
    std::mutex mutex;
    std::condition_variable drained;
    size_t bytes = 0;
    std::function<void()> wake;  // a suspended guest's
    void add(size_t n) {
      std::lock_guard lock(mutex);
      bytes += n;
    }
    void remove(size_t n) {
      std::function<void()> woken;
      {
        std::lock_guard lock(mutex);
        bytes -= n;
        woken.swap(wake);
      }
      drained.notify_all();
      if (woken) woken();
    }
    void wait_below(size_t limit, Suspender* suspender) {
      std::unique_lock lock(mutex);
      if (suspender == nullptr) {
        drained.wait(lock, [&] { return bytes < limit; });
        return;
      }
      while (bytes >= limit) {
        wake = suspender->waker();
        lock.unlock();
        // A stopped guest stops waiting; its response is cut when the call fails.
        if (!suspender->suspend()) throw std::runtime_error(kStoppedWhileWaiting);
        lock.lock();
      }
    }
  };

  std::shared_ptr<http::ResponseWriter> writer_;
  std::shared_ptr<InFlight> in_flight_;
  std::optional<http::ResponseHead> head_;
  bool head_sent_ = false;
  bool waited_ = false;
  Suspender* suspender_ = nullptr;
  std::string pending_;
};

// The request as wasi:http sees it: Spin's spin-* headers added, the body as a stream.
// What the guest gets of `request`, whose headers move into it (the request is not read
// again after).
http::IncomingRequestData incoming_data(http::Request& request) {
  http::IncomingRequestData data;
  data.method = request.head.method;
  const std::string scheme = request.head.tls ? "https" : "http";
  data.scheme = scheme;
  const auto host = http::find_header(request.head.headers, "host");
  if (request.target) {
    data.path_with_query = request.target->path_and_query;
    data.authority = request.target->authority
                         ? request.target->authority
                         : (host ? std::optional<std::string>(std::string(*host)) : std::nullopt);
  } else {
    data.path_with_query = request.head.target;
  }
  http::Headers spin;
  if (request.route) {
    const std::string url = http::full_url(scheme, host, data.path_with_query.value_or("/"));
    spin = http::spin_headers(*request.route, url, request.client_address);
  }
  data.headers = std::move(request.head.headers);
  data.headers.insert(data.headers.end(), std::make_move_iterator(spin.begin()),
                      std::make_move_iterator(spin.end()));
  data.body = std::make_unique<BodyInputStream>(request.body_empty ? nullptr : request.body);
  return data;
}

// What one request's fiber owns: the sink before the call (the call writes to it).
struct FiberRun {
  explicit FiberRun(std::shared_ptr<http::ResponseWriter> writer) : sink(std::move(writer)) {}
  WriterSink sink;
  std::unique_ptr<http::IncomingCall> call;
  Result<void, wasm::Error> result;
};

}  // namespace

ComponentHandler::ComponentHandler(std::string component_id, std::vector<Prepared> prepared,
                                   WorkerPool& workers, Logger log,
                                   std::optional<std::chrono::nanoseconds> deadline,
                                   std::optional<uint64_t> memory_limit)
    : id_(std::move(component_id)),
      prepared_(std::move(prepared)),
      workers_(workers),
      log_(std::move(log)),
      deadline_(deadline),
      memory_limit_(memory_limit) {}

void ComponentHandler::handle(http::Request request,
                              std::shared_ptr<http::ResponseWriter> response) {
  if (request.executor && request.internal) {
    // Sent by a guest of this app from inside its host call (on its fiber): this guest
    // starts from the loop instead, as its own task.
    auto executor = request.executor;
    auto shared = std::make_shared<http::Request>(std::move(request));
    boost::asio::post(executor, [this, shared, response = std::move(response)]() mutable {
      run_on_fiber(std::move(*shared), std::move(response));
    });
    return;
  }
  if (request.executor) {
    run_on_fiber(std::move(request), std::move(response));
    return;
  }
  // No loop to run on (a request made inside the process without one): a worker thread
  // runs the guest, and its waits hold that thread.
  auto shared = std::make_shared<http::Request>(std::move(request));
  workers_.post([this, shared, response] { run(std::move(*shared), response); });
}

void ComponentHandler::run_on_fiber(http::Request request,
                                    std::shared_ptr<http::ResponseWriter> response) {
  LaneGate* gate = prepared_[request.lane % prepared_.size()].gate;
  if (gate == nullptr || !gate->full())
    return start_on_fiber(std::move(request), std::move(response));
  auto shared = std::make_shared<http::Request>(std::move(request));
  gate->enqueue([this, shared, response = std::move(response)]() mutable {
    // A client that left while its request waited gets nothing: the guest never starts.
    if (shared->cancelled && shared->cancelled->load(std::memory_order_relaxed)) return;
    start_on_fiber(std::move(*shared), std::move(response));
  });
}

void ComponentHandler::start_on_fiber(http::Request request,
                                      std::shared_ptr<http::ResponseWriter> response) {
  auto run = std::make_shared<FiberRun>(std::move(response));
  const Prepared& lane = prepared_[request.lane % prepared_.size()];
  auto call = lane.handler.instantiate(*lane.engine, incoming_data(request), run->sink,
                                       wasm::StopWhen{deadline_, request.cancelled}, memory_limit_);
  if (!call) {
    report_failure(call.error(), request.cancelled);
    return;
  }
  run->call = std::move(*call);
  FiberTask::Limits limits;
  if (deadline_) limits.deadline = std::chrono::steady_clock::now() + *deadline_;
  limits.cancelled = request.cancelled;
  FiberRun* raw = run.get();
  FiberTask::start(
      FiberTask::Services{request.executor, &workers_, lane.gate}, raw->call->store(), run,
      [raw, loop = request.executor](Suspender& suspender) {
        raw->sink.set_suspender(&suspender);
        raw->result = raw->call->call(&suspender, loop);
      },
      [this, raw, cancelled = request.cancelled](const std::optional<wasm::Error>& error) {
        if (error) {
          raw->sink.fail(error->describe());
          report_failure(*error, cancelled);
        } else if (!raw->result) {
          report_failure(raw->result.error(), cancelled);
        }
      },
      std::move(limits));
}

void ComponentHandler::run(http::Request request, std::shared_ptr<http::ResponseWriter> response) {
  WriterSink sink(response);
  const Prepared& lane = prepared_[request.lane % prepared_.size()];
  auto handled = lane.handler.handle(*lane.engine, incoming_data(request), sink,
                                     wasm::StopWhen{deadline_, request.cancelled}, memory_limit_);
  if (!handled) report_failure(handled.error(), request.cancelled);
}

void ComponentHandler::report_failure(
    const wasm::Error& error, const std::shared_ptr<const std::atomic<bool>>& cancelled) const {
  if (cancelled && cancelled->load(std::memory_order_relaxed)) {
    // A trap's message is Wasmtime's, backtrace first; its cause is the line that says why.
    std::string_view why = error.message();
    if (auto cause = why.rfind("Caused by:"); cause != std::string_view::npos)
      why = why.substr(why.find_first_not_of(" \n", cause + 10));
    log_->info("component {} stopped, nobody waits for its answer: {}: {}", id_,
               wasm::to_string(error.kind()), why.substr(0, why.find('\n')));
  } else {
    log_->error("component {} failed: {}", id_, error.describe());
  }
}

}  // namespace gyre::trigger
