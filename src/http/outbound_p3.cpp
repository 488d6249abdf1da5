// WASIp3's outgoing HTTP: wasi:http/client.send (rc-2025-09-16: an imported
// wasi:http/handler.handle). The guest's request goes out through the
// same OutboundSend as 0.2's (the allow-list, service chaining, self requests) and an
// Exchange. The call stays pending (the guest holds a subtask) until the response head
// arrives; the guest's body stream is pumped into the exchange meanwhile, and the
// response's body is read out of it when the guest consumes it (http/wasi_types_p3.cpp).
// Nothing here holds a thread: the carrier's progress posts the next step to the
// guest's scheduler.
#include "http/outbound_p3.hpp"

#include <string>
#include <utility>
#include <vector>

#include "component/concurrency/concurrency.hpp"
#include "http/wasi_types_p3.hpp"

namespace gyre::http {
namespace {

using component::CopyResult;
using component::HostBuffer;
using component::Val;
using RawResult = Result<std::optional<Val>, std::string>;

// One send: its request body on its way out, its response head awaited. Owned by the
// instance (Sends), so what it posts to the scheduler never outlives it.
class Send {
 public:
  Send(std::shared_ptr<Exchange> exchange, std::shared_ptr<component::PendingCall> pending,
       std::unique_ptr<component::HostEnd> body, std::shared_ptr<component::Scheduler> scheduler)
      : exchange_(std::move(exchange)),
        pending_(std::move(pending)),
        body_(std::move(body)),
        scheduler_(std::move(scheduler)) {}

  void start(component::ComponentInstance& instance) {
    instance_ = &instance;
    pending_->on_cancel([this] {
      exchange_->cancel();
      pending_->resolve_cancelled();
    });
    if (body_) pump_body();
    await_head();
  }

 private:
  static constexpr uint32_t kChunk = 64 * 1024;

  // Runs `step` on the guest's thread at the exchange's next change.
  std::function<void()> later(void (Send::*step)()) {
    return [scheduler = scheduler_, this, step] {
      scheduler->post([this, step] { (this->*step)(); });
    };
  }

  // The guest's body stream into the exchange, as much as it takes at a time.
  void pump_body() {
    if (exchange_->cancelled()) return body_.reset();
    const uint64_t room = exchange_->request_room();
    if (room == 0) return exchange_->notify_request_room(later(&Send::pump_body));
    const auto max = static_cast<uint32_t>(std::min<uint64_t>(room, kChunk));
    body_->read(max, [this](HostBuffer& buffer, CopyResult result) {
      const std::string_view bytes = buffer.received_bytes();
      if (!bytes.empty()) exchange_->write_request(bytes);
      if (result != CopyResult::kDropped) return pump_body();
      body_.reset();
      exchange_->finish_request();
    });
  }

  void await_head() {
    if (pending_->finished()) return;
    auto head = exchange_->take_head();
    if (!head) {
      // The pending call holds the scheduler meanwhile: a guest may wait for it.
      exchange_->notify_guest(later(&Send::await_head));
      if (exchange_->ready(Exchange::Event::kHead)) await_head();  // it came meanwhile
      return;
    }
    if (head->index() == 1) {
      const ErrorCode& error = std::get<1>(*head);
      return pending_->resolve(Val::err(Val::variant(error.code, error.payload)));
    }
    auto response = std::make_unique<Response3>();
    response->status = std::get<0>(*head).status;
    response->headers.entries = std::move(std::get<0>(*head).headers);
    response->headers.immutable = true;
    response->body = response_body_stream(exchange_);
    auto& responses = instance_->host_state<host::ResourceTable<Response3>>();
    pending_->resolve(Val::ok(Val::own(responses.insert(std::move(response)))));
  }

  std::shared_ptr<Exchange> exchange_;
  std::shared_ptr<component::PendingCall> pending_;
  std::unique_ptr<component::HostEnd> body_;
  std::shared_ptr<component::Scheduler> scheduler_;
  component::ComponentInstance* instance_ = nullptr;
};

struct Sends {
  std::vector<std::unique_ptr<Send>> sends;
};

}  // namespace

void add_wasi_http_client_p3(component::HostImports& imports, OutboundSend send) {
  // send(request) -> result<response, error-code>, lowered async by every toolchain.
  auto send_fn = [send](component::HostCall& call, std::span<const Val> args) -> RawResult {
    auto request = call.instance.host_state<host::ResourceTable<Request3>>().take(
        static_cast<uint32_t>(args[0].bits));
    if (!request) return std::string("client.send: unknown request");
    OutboundRequest out;
    out.method = request->data.method;
    out.scheme = request->data.scheme;
    out.authority = request->data.authority;
    out.path_with_query = request->data.path_with_query;
    out.headers = std::move(request->data.headers);
    out.loop = call.instance.host_state<GuestLoop>().executor;
    out.has_body = request->contents != nullptr;
    if (request->timeouts) out.timeouts = *request->timeouts;
    auto exchange = std::make_shared<Exchange>();
    if (!out.has_body) exchange->finish_request();
    if (auto refused = send(out, exchange))
      return std::optional<Val>(Val::err(Val::variant(refused->code, refused->payload)));
    auto& sends = call.instance.host_state<Sends>().sends;
    sends.push_back(std::make_unique<Send>(std::move(exchange), call.defer(),
                                           std::move(request->contents),
                                           call.instance.concurrency().shared_scheduler()));
    sends.back()->start(call.instance);
    return std::optional<Val>();
  };
  for (const char* version : wasi::kWasi3Versions)
    imports.interface(std::string("wasi:http/client@") + version).functions["send"] = send_fn;
  imports.interface(std::string("wasi:http/handler@") + kWasiHttp3SendsThroughHandler)
      .functions["handle"] = send_fn;
}

}  // namespace gyre::http
