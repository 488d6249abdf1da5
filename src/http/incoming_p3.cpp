// WASIp3's wasi:http/handler: `handle` runs as a task of the request's instance. Its
// task.return hands over the response (or an error-code) while the guest may still be
// writing the body; the host sends the head at once and then the body as the guest writes
// it, and ends the response when the body stream and then the trailers future are done.
#include <string>
#include <utility>

#include "component/concurrency/concurrency.hpp"
#include "http/incoming.hpp"
#include "http/wasi_types_p3.hpp"

namespace gyre::http {
namespace {

using component::CopyResult;
using component::HostBuffer;
using component::Val;

// Reads a response's body stream into the sink as the guest writes it, then its trailers
// future. Everything here runs on the guest's thread, inside the instance's tasks' turns.
class ResponseReader {
 public:
  explicit ResponseReader(ResponseSink& sink) : sink_(sink) {}

  void start(std::unique_ptr<Response3> response) {
    response_ = std::move(response);
    sink_.head(response_->status, std::move(response_->headers.entries));
    read_body();
  }
  bool done() const { return done_; }

 private:
  static constexpr uint32_t kChunk = 64 * 1024;

  void read_body() {
    if (!response_->contents) return read_trailers();
    response_->contents->read_all(
        kChunk, [this](std::string_view bytes) { sink_.body(bytes); },
        [this] {
          response_->contents.reset();
          read_trailers();
        });
  }

  // result<option<trailers>, error-code>: an error cuts the response. Trailers themselves
  // are not sent: the server writes none (as for 0.2).
  void read_trailers() {
    if (!response_->trailers) return end(std::nullopt);
    response_->trailers->read(1, [this](HostBuffer& buffer, CopyResult) {
      std::vector<Val> values = buffer.received_values();
      response_->trailers.reset();
      if (!values.empty() && values[0].bits != 0) {
        const ErrorCode error =
            values[0].items.empty() ? ErrorCode{} : ErrorCode::from(values[0].items[0]);
        return end("the component ended the body with error-code " + std::string(error.label()));
      }
      end(std::nullopt);
    });
  }

  void end(const std::optional<std::string>& error) {
    done_ = true;
    if (error) return sink_.fail(*error);
    sink_.finish();
  }

  ResponseSink& sink_;
  std::unique_ptr<Response3> response_;
  bool done_ = false;
};

}  // namespace

Result<void, wasm::Error> IncomingCall::call_p3() {
  component::ComponentInstance& instance = *instance_;
  ResponseReader reader(sink_);
  bool exited = false;
  std::optional<std::string> refused;  // the guest answered with an error-code
  // result<response, error-code>
  auto on_return = [&](const std::optional<Val>& result) {
    if (!result || result->bits != 0) {
      const ErrorCode error =
          result && !result->items.empty() ? ErrorCode::from(result->items[0]) : ErrorCode{};
      refused = "the component answered with error-code " + std::string(error.label());
      return sink_.fail(*refused);
    }
    auto& responses = instance.host_state<host::ResourceTable<Response3>>();
    std::unique_ptr<Response3> response =
        responses.take(static_cast<uint32_t>(result->items[0].bits));
    if (!response) {
      refused = "the component answered with a response the host does not hold";
      return sink_.fail(*refused);
    }
    reader.start(std::move(response));
  };
  const Val args[] = {Val::own(request_rep_)};
  auto started = instance.start(*handle_, args, on_return,
                                [&](const std::optional<wasm::Error>&) { exited = true; });
  if (!started) {
    sink_.fail(started.error().describe());
    return std::move(started).error();
  }
  auto driven =
      instance.drive([&] { return (exited && (refused || !sink_.head_sent)) || reader.done(); });
  if (!driven) {
    sink_.fail(driven.error().describe());
    return std::move(driven).error();
  }
  if (refused) return wasm::Error(wasm::ErrorKind::kTrap, *refused);
  if (!sink_.head_sent) {
    sink_.fail("the component's task ended without a response");
    return wasm::Error(wasm::ErrorKind::kTrap, "the component's task ended without a response");
  }
  return {};
}

}  // namespace gyre::http
