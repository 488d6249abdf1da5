// Runs one HTTP request through a component's wasi:http handler: a fresh store and
// instance per request, the response streamed to a ResponseSink as the guest produces it.
// Two handlers, found by the component's export: 0.2's incoming-handler (the request and
// the response outparam handed over as resources) and 0.3's handler (WASIp3: `handle`
// lifted async, returning the response while its body stream is still being written;
// http/incoming_p3.cpp).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "base/suspender.hpp"
#include "component/instance.hpp"
#include "http/wasi_types.hpp"
#include "wasm/engine.hpp"
#include "wasm/error.hpp"
#include "wasm/store.hpp"

namespace gyre::http {

class IncomingCall;

class IncomingHandler {
 public:
  // Finds the component's `wasi:http/incoming-handler@0.2.x` or `wasi:http/handler@0.3.x`
  // export.
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

  // The first half of handle(): a store and an instance for the request, made at once on
  // the calling thread (instantiation never waits). IncomingCall::call does the rest. The
  // sink must outlive the call.
  Result<std::unique_ptr<IncomingCall>, wasm::Error> instantiate(
      wasm::Engine& engine, IncomingRequestData request, ResponseSink& sink,
      wasm::StopWhen stop = {}, std::optional<uint64_t> memory_limit = {}) const;

  const std::string& export_name() const { return export_; }
  // Whether the export is WASIp3's handler.
  bool p3() const { return p3_; }

 private:
  IncomingHandler(std::shared_ptr<const component::ComponentPre> pre, std::string name, bool p3)
      : pre_(std::move(pre)), export_(std::move(name)), p3_(p3) {}

  std::shared_ptr<const component::ComponentPre> pre_;
  std::string export_;
  bool p3_ = false;
};

// One request's instance, ready to call the guest's handler.
class IncomingCall {
 public:
  ~IncomingCall();
  IncomingCall(const IncomingCall&) = delete;
  IncomingCall& operator=(const IncomingCall&) = delete;

  // Calls the handler (once). With a suspender, the guest's waits suspend it instead of
  // holding the thread: then this must run on a wasm::Fiber of store(), driven by `loop`
  // (which the guest's requests to components of its app run on too).
  Result<void, wasm::Error> call(Suspender* suspender, boost::asio::any_io_executor loop = {});
  wasm::Store& store() { return store_; }

 private:
  friend class IncomingHandler;
  IncomingCall(wasm::Engine& engine, ResponseSink& out);
  // WASIp3's handle: a task of the instance, driven until it exits and the response's
  // body and trailers are read (incoming_p3.cpp).
  Result<void, wasm::Error> call_p3();

  // Remembers what reached the real sink, so the call can tell an unfinished response.
  class TrackingSink final : public ResponseSink {
   public:
    explicit TrackingSink(ResponseSink& to) : to_(to) {}
    void head(uint16_t status, Headers headers) override {
      head_sent = true;
      to_.head(status, std::move(headers));
    }
    void body(std::string_view chunk) override { to_.body(chunk); }
    void finish() override {
      finished = true;
      to_.finish();
    }
    void fail(const std::string& why) override {
      if (finished || failed) return;
      failed = true;
      to_.fail(why);
    }
    void flush() override { to_.flush(); }
    bool head_sent = false, finished = false, failed = false;

   private:
    ResponseSink& to_;
  };

  TrackingSink sink_;
  wasm::Store store_;  // declared before the instance: it outlives it
  std::unique_ptr<component::ComponentInstance> instance_;
  const component::ComponentFunction* handle_ = nullptr;
  bool p3_ = false;
  uint32_t request_rep_ = 0;
  uint32_t outparam_rep_ = 0;
};

}  // namespace gyre::http
