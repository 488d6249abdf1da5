#include "trigger/component_handler.hpp"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>

#include "base/byte_copy.hpp"

namespace gyre::trigger {
namespace {

// The request body as a wasi:io input-stream. Reads wait for the next chunk on the worker
// thread (the guest is blocked anyway), so the stream is always ready to be read.
class BodyInputStream final : public wasi::InputStream {
 public:
  explicit BodyInputStream(std::shared_ptr<http::BodyReader> reader) : reader_(std::move(reader)) {}

  wasi::StreamResult<host::ByteString> read(uint64_t max) override {
    using R = wasi::StreamResult<host::ByteString>;
    if (buffer_.empty() && !ended_) {
      http::BodyChunk chunk = reader_ ? reader_->read_wait() : http::BodyChunk{{}, true, {}};
      if (!chunk.error.empty()) return R::err(wasi::StreamError::failed(chunk.error));
      buffer_ = std::move(chunk.data);
      offset_ = 0;
      ended_ = chunk.end;
    }
    if (offset_ >= buffer_.size()) {
      buffer_.clear();
      if (ended_) return R::err(wasi::StreamError::closed());
      return R::ok({});
    }
    const size_t n = std::min<uint64_t>(max, buffer_.size() - offset_);
    if (offset_ == 0 && n == buffer_.size()) {
      host::ByteString whole{std::move(buffer_)};  // handed over, not copied
      buffer_.clear();
      return R::ok(std::move(whole));
    }
    host::ByteString part{buffer_.substr(offset_, n)};
    offset_ += n;
    return R::ok(std::move(part));
  }
  std::unique_ptr<wasi::Pollable> subscribe() override {
    return std::make_unique<wasi::ReadyPollable>();
  }

 private:
  std::shared_ptr<http::BodyReader> reader_;
  std::string buffer_;
  size_t offset_ = 0;
  bool ended_ = false;
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
  void head(uint16_t status, const http::HeaderList& headers) override {
    head_.emplace();
    head_->status = status;
    for (const auto& [k, v] : headers)
      head_->headers.push_back({k, v});
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

 private:
  void send_pending() {
    if (!head_ || (head_sent_ && pending_.empty())) return;
    if (!head_sent_) {
      head_sent_ = true;
      writer_->start(std::move(*head_));
    }
    if (pending_.empty()) return;
    in_flight_->wait_below(kInFlightLimit);
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
    void add(size_t n) {
      std::lock_guard lock(mutex);
      bytes += n;
    }
    void remove(size_t n) {
      {
        std::lock_guard lock(mutex);
        bytes -= n;
      }
      drained.notify_all();
    }
    void wait_below(size_t limit) {
      std::unique_lock lock(mutex);
      drained.wait(lock, [&] { return bytes < limit; });
    }
  };

  std::shared_ptr<http::ResponseWriter> writer_;
  std::shared_ptr<InFlight> in_flight_;
  std::optional<http::ResponseHead> head_;
  bool head_sent_ = false;
  bool waited_ = false;
  std::string pending_;
};

// CPU time of the calling thread: what a guest computed, whatever the scheduler did.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

ComponentHandler::ComponentHandler(std::string component_id, std::vector<Prepared> prepared,
                                   WorkerPool& workers, Logger log,
                                   std::optional<std::chrono::nanoseconds> deadline,
                                   bool may_run_in_place, std::optional<uint64_t> memory_limit)
    : id_(std::move(component_id)),
      prepared_(std::move(prepared)),
      workers_(workers),
      log_(std::move(log)),
      deadline_(deadline),
      memory_limit_(memory_limit),
      inline_(may_run_in_place) {}

void ComponentHandler::handle(http::Request request,
                              std::shared_ptr<http::ResponseWriter> response) {
  if (request.body_empty && !request.internal && inline_.load(std::memory_order_relaxed)) {
    // CPU time cannot exceed wall time, so a run within the budget by the wall clock is
    // within it; only after one that was not is the CPU clock read.
    const bool timing_cpu = timing_cpu_.load(std::memory_order_relaxed);
    const auto wall_started = std::chrono::steady_clock::now();
    const auto cpu_started = timing_cpu ? thread_cpu_time() : std::chrono::nanoseconds{};
    const bool waited = run(std::move(request), std::move(response));
    bool slow = false;
    if (std::chrono::steady_clock::now() - wall_started > kInlineBudget) {
      slow = timing_cpu && thread_cpu_time() - cpu_started > kInlineBudget;
      timing_cpu_.store(true, std::memory_order_relaxed);
    } else if (timing_cpu) {
      timing_cpu_.store(false, std::memory_order_relaxed);
    }
    if (waited || (slow && ++slow_runs_ >= kSlowRuns)) inline_ = false;
    return;
  }
  auto shared = std::make_shared<http::Request>(std::move(request));
  auto task = [this, shared, response] { run(std::move(*shared), response); };
  if (shared->internal) {
    workers_.post_now(std::move(task));
  } else {
    workers_.post(std::move(task));
  }
}

bool ComponentHandler::run(http::Request request, std::shared_ptr<http::ResponseWriter> response) {
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
  for (const auto& h : request.head.headers)
    data.headers.emplace_back(h.name, h.value);
  if (request.route) {
    const std::string url = http::full_url(scheme, host, data.path_with_query.value_or("/"));
    for (const auto& h : http::spin_headers(*request.route, url, request.client_address)) {
      data.headers.emplace_back(h.name, h.value);
    }
  }
  data.body = std::make_unique<BodyInputStream>(request.body_empty ? nullptr : request.body);

  WriterSink sink(response);
  const Prepared& lane = prepared_[request.lane % prepared_.size()];
  auto handled = lane.handler.handle(*lane.engine, std::move(data), sink,
                                     wasm::StopWhen{deadline_, request.cancelled}, memory_limit_);
  if (!handled) log_->error("component {} failed: {}", id_, handled.error().describe());
  return sink.waited();
}

}  // namespace gyre::trigger
