// The HTTP server's handler for a route served by a component: the request becomes a
// wasi:http incoming-request (with Spin's spin-* headers), and the component's response
// streams back through the server's writer as the guest writes it.
//
// Where the guest runs: on a fiber, driven by the loop of the server lane that read the
// request (trigger/fiber_task.hpp): a guest that waits suspends and the lane serves other
// requests meanwhile. Only a request without a loop runs on a worker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.hpp"
#include "base/worker_pool.hpp"
#include "http/handler.hpp"
#include "http/incoming.hpp"
#include "trigger/lane_gate.hpp"
#include "wasm/engine.hpp"

namespace gyre::trigger {

class ComponentHandler final : public http::Handler {
 public:
  // The component prepared in one engine. There is one engine per server lane: engines
  // share nothing (instance pools, module code and its reference counts), so two lanes'
  // guests do not move each other's cache lines between cores.
  struct Prepared {
    wasm::Engine* engine;
    http::IncomingHandler handler;
    LaneGate* gate = nullptr;  // the lane's, shared by every component (none: no limit)
  };

  // A request runs in prepared[request.lane % prepared.size()] (never empty).
  ComponentHandler(std::string component_id, std::vector<Prepared> prepared, WorkerPool& workers,
                   Logger log, std::optional<std::chrono::nanoseconds> deadline,
                   std::optional<uint64_t> memory_limit = {});

  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override;

 private:
  // Starts the guest on a fiber of the request's lane, or queues it at the lane's gate.
  void run_on_fiber(http::Request request, std::shared_ptr<http::ResponseWriter> response);
  void start_on_fiber(http::Request request, std::shared_ptr<http::ResponseWriter> response);
  // Runs the guest on the calling thread, to the end.
  void run(http::Request request, std::shared_ptr<http::ResponseWriter> response);
  // Logs a guest's failure: an error with its backtrace, unless nobody waits for its
  // answer any more (its client went away, the server stops). That is how requests end
  // every day under load (wrk stopping leaves a thousand), so it gets one info line.
  void report_failure(const wasm::Error& error,
                      const std::shared_ptr<const std::atomic<bool>>& cancelled) const;

  std::string id_;
  std::vector<Prepared> prepared_;
  WorkerPool& workers_;
  Logger log_;
  std::optional<std::chrono::nanoseconds> deadline_;
  std::optional<uint64_t> memory_limit_;  // per linear memory of an instance
};

}  // namespace gyre::trigger
