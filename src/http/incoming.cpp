#include "http/incoming.hpp"

#include "component/concurrency/concurrency.hpp"
#include "host/resources.hpp"
#include "http/outbound.hpp"
#include "http/wasi_types_p3.hpp"
#include "wasm/store.hpp"

namespace gyre::http {

Result<IncomingHandler, std::string> IncomingHandler::create(
    std::shared_ptr<const component::ComponentPre> pre) {
  for (const auto& item : pre->types().exports) {
    if (item.kind != component::ExternKind::kInstance) continue;
    if (item.name.starts_with("wasi:http/incoming-handler@0.2"))
      return IncomingHandler(std::move(pre), item.name, false);
    if (item.name.starts_with("wasi:http/handler@0.3"))
      return IncomingHandler(std::move(pre), item.name, true);
  }
  return std::string(
      "the component exports no wasi:http/incoming-handler@0.2.x or wasi:http/handler@0.3.x");
}

Result<void, wasm::Error> IncomingHandler::handle(wasm::Engine& engine, IncomingRequestData request,
                                                  ResponseSink& out, wasm::StopWhen stop,
                                                  std::optional<uint64_t> memory_limit) const {
  auto call = instantiate(engine, std::move(request), out, std::move(stop), memory_limit);
  if (!call) return std::move(call).error();
  return (*call)->call(nullptr);
}

Result<std::unique_ptr<IncomingCall>, wasm::Error> IncomingHandler::instantiate(
    wasm::Engine& engine, IncomingRequestData request, ResponseSink& out, wasm::StopWhen stop,
    std::optional<uint64_t> memory_limit) const {
  auto call = std::unique_ptr<IncomingCall>(new IncomingCall(engine, out));
  IncomingCall::TrackingSink& sink = call->sink_;
  if (memory_limit) call->store_.set_memory_limit(*memory_limit);
  auto instantiated = pre_->instantiate(call->store_);
  if (!instantiated) {
    sink.fail("instantiation failed: " + instantiated.error().describe());
    return std::move(instantiated).error();
  }
  call->instance_ = std::move(*instantiated);
  component::ComponentInstance& instance = *call->instance_;
  instance.host_state<wasi::BeforeBlocking>().hooks.push_back([&sink] { sink.flush(); });
  call->store_.stop_when(std::move(stop));
  call->p3_ = p3_;
  if (p3_) {
    auto& requests = instance.host_state<host::ResourceTable<Request3>>();
    call->request_rep_ = requests.insert(std::make_unique<Request3>(Request3{std::move(request)}));
  } else {
    auto& requests = instance.host_state<host::ResourceTable<IncomingRequest>>();
    auto& outparams = instance.host_state<host::ResourceTable<ResponseOutparam>>();
    call->request_rep_ =
        requests.insert(std::make_unique<IncomingRequest>(IncomingRequest{std::move(request)}));
    call->outparam_rep_ =
        outparams.insert(std::make_unique<ResponseOutparam>(ResponseOutparam{&sink}));
  }

  call->handle_ = instance.function(export_, "handle");
  if (call->handle_ == nullptr) {
    sink.fail("the handler export has no handle function");
    return wasm::Error(wasm::ErrorKind::kLink, export_ + " has no function `handle`");
  }
  return call;
}

IncomingCall::IncomingCall(wasm::Engine& engine, ResponseSink& out) : sink_(out), store_(engine) {}

IncomingCall::~IncomingCall() = default;

Result<void, wasm::Error> IncomingCall::call(Suspender* suspender,
                                             boost::asio::any_io_executor loop) {
  component::ComponentInstance& instance = *instance_;
  instance.concurrency().scheduler.set_suspender(suspender);
  instance.host_state<GuestLoop>().executor = std::move(loop);
  if (p3_) return call_p3();
  const std::vector<component::Val> args{component::Val::own(request_rep_),
                                         component::Val::own(outparam_rep_)};
  auto called = instance.call(*handle_, args);
  if (!called) {
    sink_.fail(called.error().describe());
    return std::move(called).error();
  }
  // The outparam is still the host's: the guest returned without answering.
  auto& outparams = instance.host_state<host::ResourceTable<ResponseOutparam>>();
  if (outparams.get(outparam_rep_) != nullptr) {
    sink_.fail("the component returned without setting a response");
    return wasm::Error(wasm::ErrorKind::kTrap, "the component returned without setting a response");
  }
  if (sink_.head_sent && !sink_.finished && !sink_.failed) {
    sink_.fail("the component returned without finishing the response body");
    return wasm::Error(wasm::ErrorKind::kTrap,
                       "the component returned without finishing the response body");
  }
  return {};
}

}  // namespace gyre::http
