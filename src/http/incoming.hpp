// Runs one HTTP request through a component's wasi:http/incoming-handler: a fresh store
// and instance per request, the request and the response outparam handed over as
// resources, the response streamed to a ResponseSink as the guest produces it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "component/instance.hpp"
#include "http/wasi_types.hpp"
#include "wasm/engine.hpp"
#include "wasm/error.hpp"
#include "wasm/store.hpp"

namespace gyre::http {

class IncomingHandler {
 public:
  // Finds the component's `wasi:http/incoming-handler@0.2.x` export.
  static Result<IncomingHandler, std::string> create(
      std::shared_ptr<const component::ComponentPre> pre);

  // Handles one request. The sink sees head, body chunks and finish, or fail: a trap, or a
  // guest that returns without setting a response, ends in fail (a 500 if nothing was sent
  // yet; a cut body otherwise). The error is returned too, for the log.
  // `stop` ends a guest still running after its deadline or once its flag is set, and
  // `memory_limit` one that grows a linear memory past it (a 500 for the client if nothing
  // was sent yet).
  Result<void, wasm::Error> handle(wasm::Engine& engine, IncomingRequestData request,
                                   ResponseSink& sink, wasm::StopWhen stop = {},
                                   std::optional<uint64_t> memory_limit = {}) const;

  const std::string& export_name() const { return export_; }

 private:
  IncomingHandler(std::shared_ptr<const component::ComponentPre> pre, std::string name)
      : pre_(std::move(pre)), export_(std::move(name)) {}

  std::shared_ptr<const component::ComponentPre> pre_;
  std::string export_;
};

}  // namespace gyre::http
