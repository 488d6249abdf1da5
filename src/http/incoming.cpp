#include "http/incoming.hpp"

#include "host/resources.hpp"
#include "wasm/store.hpp"

namespace gyre::http {
namespace {

// Remembers what reached the real sink, so the handler can tell an unfinished response.
class TrackingSink final : public ResponseSink {
 public:
  explicit TrackingSink(ResponseSink& to) : to_(to) {}
  void head(uint16_t status, const HeaderList& headers) override {
    head_sent = true;
    to_.head(status, headers);
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

}  // namespace

Result<IncomingHandler, std::string> IncomingHandler::create(
    std::shared_ptr<const component::ComponentPre> pre) {
  for (const auto& item : pre->types().exports) {
    if (item.kind == component::ExternKind::kInstance &&
        item.name.rfind("wasi:http/incoming-handler@0.2", 0) == 0) {
      return IncomingHandler(std::move(pre), item.name);
    }
  }
  return std::string("the component exports no wasi:http/incoming-handler@0.2.x");
}

Result<void, wasm::Error> IncomingHandler::handle(wasm::Engine& engine, IncomingRequestData request,
                                                  ResponseSink& out, wasm::StopWhen stop,
                                                  std::optional<uint64_t> memory_limit) const {
  TrackingSink sink(out);
  wasm::Store store(engine);
  if (memory_limit) store.set_memory_limit(*memory_limit);
  auto instantiated = pre_->instantiate(store);
  if (!instantiated) {
    sink.fail("instantiation failed: " + instantiated.error().describe());
    return std::move(instantiated).error();
  }
  component::ComponentInstance& instance = **instantiated;
  instance.host_state<wasi::BeforeBlocking>().hooks.push_back([&sink] { sink.flush(); });
  store.stop_when(std::move(stop));
  auto& requests = instance.host_state<host::ResourceTable<IncomingRequest>>();
  auto& outparams = instance.host_state<host::ResourceTable<ResponseOutparam>>();
  const uint32_t request_rep =
      requests.insert(std::make_unique<IncomingRequest>(IncomingRequest{std::move(request)}));
  const uint32_t outparam_rep =
      outparams.insert(std::make_unique<ResponseOutparam>(ResponseOutparam{&sink}));

  const component::ComponentFunction* handle = instance.function(export_, "handle");
  if (handle == nullptr) {
    sink.fail("the incoming-handler export has no handle function");
    return wasm::Error(wasm::ErrorKind::kLink, export_ + " has no function `handle`");
  }
  const std::vector<component::Val> args{component::Val::own(request_rep),
                                         component::Val::own(outparam_rep)};
  auto called = instance.call(*handle, args);
  if (!called) {
    sink.fail(called.error().describe());
    return std::move(called).error();
  }
  // The outparam is still the host's: the guest returned without answering.
  if (outparams.get(outparam_rep) != nullptr) {
    sink.fail("the component returned without setting a response");
    return wasm::Error(wasm::ErrorKind::kTrap, "the component returned without setting a response");
  }
  if (sink.head_sent && !sink.finished && !sink.failed) {
    sink.fail("the component returned without finishing the response body");
    return wasm::Error(wasm::ErrorKind::kTrap,
                       "the component returned without finishing the response body");
  }
  return {};
}

}  // namespace gyre::http
