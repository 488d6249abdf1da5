// The HTTP server's handler for a route served by a component: the request moves to a
// worker thread, becomes a wasi:http incoming-request (with Spin's spin-* headers), and the
// component's response streams back through the server's writer as the guest writes it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/worker_pool.hpp"
#include "http/handler.hpp"
#include "http/incoming.hpp"
#include "wasm/engine.hpp"

namespace gyre::trigger {

class ComponentHandler final : public http::Handler {
 public:
  using Log = std::function<void(std::string_view)>;

  ComponentHandler(std::string component_id, http::IncomingHandler handler, wasm::Engine& engine,
                   WorkerPool& workers, Log log,
                   std::optional<std::chrono::nanoseconds> deadline = std::nullopt);

  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override;

 private:
  void run(http::Request request, std::shared_ptr<http::ResponseWriter> response);

  std::string id_;
  http::IncomingHandler handler_;
  wasm::Engine& engine_;
  WorkerPool& workers_;
  Log log_;
  std::optional<std::chrono::nanoseconds> deadline_;
};

}  // namespace gyre::trigger
