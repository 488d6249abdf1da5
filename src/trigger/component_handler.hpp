// The HTTP server's handler for a route served by a component: the request becomes a
// wasi:http incoming-request (with Spin's spin-* headers), and the component's response
// streams back through the server's writer as the guest writes it.
//
// Where the guest runs: a request without a body runs on the network thread that read it,
// saving two thread hand-offs (most of a small guest's cost), as long as this component's
// guests answer at once. The first time one waits (a timer, a full socket), or the
// kSlowRuns-th time one computes for longer than kInlineBudget of CPU time (the first runs
// are slow while the process warms up), the component's requests move to the worker pool
// for good. Components that can reach the network (whose host calls wait without telling
// the host) run on the workers from the start, as do requests with a body and requests
// one component sends another.
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
  };

  // A request runs in prepared[request.lane % prepared.size()] (never empty).
  ComponentHandler(std::string component_id, std::vector<Prepared> prepared, WorkerPool& workers,
                   Logger log, std::optional<std::chrono::nanoseconds> deadline,
                   bool may_run_in_place, std::optional<uint64_t> memory_limit = {});

  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override;

 private:
  // Runs the guest for one request; true when the guest waited for something.
  bool run(http::Request request, std::shared_ptr<http::ResponseWriter> response);

  static constexpr std::chrono::milliseconds kInlineBudget{5};
  static constexpr unsigned kSlowRuns = 3;

  std::string id_;
  std::vector<Prepared> prepared_;
  WorkerPool& workers_;
  Logger log_;
  std::optional<std::chrono::nanoseconds> deadline_;
  std::optional<uint64_t> memory_limit_;  // per linear memory of an instance
  std::atomic<bool> inline_;              // runs on the network thread while it answers at once
  std::atomic<unsigned> slow_runs_ = 0;
  // Set when a run took longer than kInlineBudget of wall time: the next runs read the
  // thread's CPU clock (a system call, unlike the wall clock) to tell computing from being
  // preempted, until one of them is fast again.
  std::atomic<bool> timing_cpu_ = false;
};

}  // namespace gyre::trigger
