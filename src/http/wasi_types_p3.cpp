#include "http/wasi_types_p3.hpp"

#include <string>
#include <utility>
#include <vector>

#include "base/ascii.hpp"
#include "component/concurrency/concurrency.hpp"
#include "host/define.hpp"
#include "http/wasi_fields.hpp"

namespace gyre::http {
namespace {

using component::Val;
using host::Borrow;
using host::Context;
using RawResult = Result<std::optional<Val>, std::string>;

// stream<u8>, the type of every body stream the host makes.
const component::ValueType& byte_stream_type() {
  static const component::ValueType type = [] {
    component::ValueType stream;
    stream.kind = component::ValueKind::kStream;
    auto byte = std::make_shared<component::ValueType>();
    byte->kind = component::ValueKind::kU8;
    stream.types.push_back(std::move(byte));
    return stream;
  }();
  return type;
}

// Moves an incoming request's body into the stream the guest reads it from, as the bytes
// arrive, without holding the thread: a read that finds nothing waits on the body's
// pollable, whose wake posts the next step to the guest's scheduler. Owned by the
// instance (BodyPumps), so nothing it posts outlives it.
class BodyPump {
 public:
  BodyPump(std::unique_ptr<wasi::InputStream> from, std::unique_ptr<component::HostEnd> to,
           std::shared_ptr<component::Scheduler> scheduler)
      : from_(std::move(from)), to_(std::move(to)), scheduler_(std::move(scheduler)) {}

  void step() {
    while (to_) {
      auto read = from_->read(kChunk);
      if (!read.is_ok()) return end();  // closed (or failed): the guest's read sees the end
      std::string bytes = std::move(std::get<0>(read.value).data);
      if (!bytes.empty()) return write(std::move(bytes));
      auto pollable = from_->subscribe();
      if (pollable->ready()) continue;
      return wait(std::move(pollable));
    }
  }

 private:
  static constexpr uint64_t kChunk = 64 * 1024;

  void end() {
    to_.reset();
    from_.reset();
    hold_.reset();
  }

  // Offers `bytes` to the guest; what a smaller read leaves is offered again.
  void write(std::string bytes) {
    auto size = static_cast<uint32_t>(bytes.size());
    to_->write(component::HostBuffer(byte_stream_type().types[0].get(), bytes),
               [this, bytes, size](uint32_t written, component::CopyResult result) mutable {
                 if (result == component::CopyResult::kDropped) return end();  // nobody reads
                 if (written < size) return write(bytes.substr(written));
                 step();
               });
  }

  void wait(std::unique_ptr<wasi::Pollable> pollable) {
    waiting_ = std::move(pollable);
    // The body is outside the guest: a guest waiting on its stream may wait for it.
    hold_ = std::make_unique<component::Scheduler::Hold>(scheduler_);
    auto next = [this] {
      waiting_.reset();
      hold_.reset();
      step();
    };
    auto wake = [scheduler = scheduler_, next] { scheduler->post(next); };
    if (!waiting_->notify(wake)) wake();  // it cannot tell when: look again at the next wait
  }

  std::unique_ptr<wasi::InputStream> from_;
  std::unique_ptr<component::HostEnd> to_;
  std::shared_ptr<component::Scheduler> scheduler_;
  std::unique_ptr<wasi::Pollable> waiting_;
  std::unique_ptr<component::Scheduler::Hold> hold_;
};

// The pumps of an instance's requests, which live as long as it does.
struct BodyPumps {
  std::vector<std::unique_ptr<BodyPump>> pumps;
};

// A host stream or future the guest passed (its readable end), or null for none.
std::unique_ptr<component::HostEnd> take_end(component::HostCall& call, const Val& value) {
  return call.instance.concurrency().take(value);
}

// consume-body(this, res) -> tuple<stream<u8>, future<result<option<trailers>,
// error-code>>> of a request or response the host made: `body` as a stream, pumped as it
// arrives. The trailers future resolves to none at once: Gyre passes no trailers on.
// `res` (how the guest's handling ended) is dropped: nothing reads it yet.
RawResult consume_body(component::HostCall& call, std::unique_ptr<wasi::InputStream> body,
                       const Val& res) {
  take_end(call, res);
  component::Concurrency& concurrency = call.instance.concurrency();
  auto [readable, writable] = concurrency.open(byte_stream_type());
  if (!body) body = std::make_unique<wasi::ClosedInputStream>();
  auto& pumps = call.instance.host_state<BodyPumps>().pumps;
  pumps.push_back(std::make_unique<BodyPump>(std::move(body), std::move(writable),
                                             concurrency.shared_scheduler()));
  pumps.back()->step();
  return std::optional<Val>(Val::tuple({std::move(readable), Val::future(Val::ok(Val::none()))}));
}

RawResult consume_request_body(component::HostCall& call, std::span<const Val> args) {
  auto request = table_of<Request3>(call).take(static_cast<uint32_t>(args[0].bits));
  if (!request) return std::string("request.consume-body: unknown request");
  if (request->contents) return std::string("request.consume-body: a request the guest made");
  return consume_body(call, std::move(request->data.body), args[1]);
}

RawResult consume_response_body(component::HostCall& call, std::span<const Val> args) {
  auto response = table_of<Response3>(call).take(static_cast<uint32_t>(args[0].bits));
  if (!response) return std::string("response.consume-body: unknown response");
  if (response->contents) return std::string("response.consume-body: a response the guest made");
  return consume_body(call, std::move(response->body), args[1]);
}

// request.new(headers, contents: option<stream<u8>>, trailers, options) -> tuple<request,
// future<result<_, error-code>>>: a GET without path, scheme or authority until set, with
// the options' timeouts. The future resolves to ok at once.
RawResult new_request(component::HostCall& call, std::span<const Val> args) {
  auto headers = table_of<Fields>(call).take(static_cast<uint32_t>(args[0].bits));
  if (!headers) return std::string("request.new: unknown headers");
  auto request = std::make_unique<Request3>();
  request->data.headers = std::move(headers->entries);
  if (args[1].bits == 1) request->contents = take_end(call, args[1].items[0]);
  request->trailers = take_end(call, args[2]);
  if (args[3].bits == 1) {
    auto options =
        table_of<RequestOptions>(call).take(static_cast<uint32_t>(args[3].items[0].bits));
    if (!options) return std::string("request.new: unknown request-options");
    request->timeouts = options->timeouts;
  }
  const uint32_t rep = table_of<Request3>(call).insert(std::move(request));
  return std::optional<Val>(Val::tuple({Val::own(rep), Val::future(Val::ok())}));
}

// response.new(headers, contents: option<stream<u8>>, trailers) -> tuple<response,
// future<result<_, error-code>>>. The future (how sending the response ended) resolves to
// ok at once, as Wasmtime's does for a response without a content-length.
RawResult new_response(component::HostCall& call, std::span<const Val> args) {
  auto headers = table_of<Fields>(call).take(static_cast<uint32_t>(args[0].bits));
  if (!headers) return std::string("response.new: unknown headers");
  auto response = std::make_unique<Response3>();
  response->headers = std::move(*headers);
  response->headers.immutable = true;
  if (args[1].bits == 1) response->contents = take_end(call, args[1].items[0]);
  response->trailers = take_end(call, args[2]);
  const uint32_t rep = table_of<Response3>(call).insert(std::move(response));
  return std::optional<Val>(Val::tuple({Val::own(rep), Val::future(Val::ok())}));
}

// wasi:http/types at one version.
void add_types(component::HostImports& imports, const std::string& kTypes) {
  using host::define;
  add_wasi_http_fields(imports, kTypes);
  add_request_options(imports, kTypes, true);
  host::define_resource<Request3>(imports, kTypes, "request");
  host::define_resource<Response3>(imports, kTypes, "response");

  define(imports, kTypes, "[method]request.get-method",
         [](Context&, Borrow<Request3> self) { return method_of(self->data.method); });
  define(imports, kTypes, "[method]request.get-path-with-query",
         [](Context&, Borrow<Request3> self) { return self->data.path_with_query; });
  define(imports, kTypes, "[method]request.get-scheme",
         [](Context&, Borrow<Request3> self) { return scheme_of(self->data.scheme); });
  define(imports, kTypes, "[method]request.get-authority",
         [](Context&, Borrow<Request3> self) { return self->data.authority; });
  define(imports, kTypes, "[method]request.get-headers", [](Context&, Borrow<Request3> self) {
    Fields fields;
    for (const auto& [k, v] : self->data.headers)
      fields.entries.emplace_back(ascii_lower(k), v);
    return copy_of(fields, true);
  });
  // The options a request was made with, immutable now.
  define(imports, kTypes, "[method]request.get-options", [](Context&, Borrow<Request3> self) {
    if (!self->timeouts) return std::optional<host::Own<RequestOptions>>{};
    return std::optional<host::Own<RequestOptions>>(host::Own<RequestOptions>{
        std::make_unique<RequestOptions>(RequestOptions{*self->timeouts, true})});
  });
  imports.interface(kTypes).functions["[static]request.consume-body"] = consume_request_body;
  imports.interface(kTypes).functions["[static]request.new"] = new_request;
  using Set = host::Result<host::Unit, host::Unit>;
  define(imports, kTypes, "[method]request.set-method",
         [](Context&, Borrow<Request3> self, Method method) {
           auto name = method_name(method);
           if (!name) return Set::err({});
           self->data.method = std::move(*name);
           return Set::ok({});
         });
  define(imports, kTypes, "[method]request.set-path-with-query",
         [](Context&, Borrow<Request3> self, std::optional<std::string> path) {
           if (!valid_path_with_query(path)) return Set::err({});
           self->data.path_with_query = std::move(path);
           return Set::ok({});
         });
  define(imports, kTypes, "[method]request.set-scheme",
         [](Context&, Borrow<Request3> self, std::optional<Scheme> scheme) {
           std::optional<std::string> name;
           if (scheme && !(name = scheme_name(*scheme))) return Set::err({});
           self->data.scheme = std::move(name);
           return Set::ok({});
         });
  define(imports, kTypes, "[method]request.set-authority",
         [](Context&, Borrow<Request3> self, std::optional<std::string> authority) {
           if (!valid_authority(authority)) return Set::err({});
           self->data.authority = std::move(authority);
           return Set::ok({});
         });
  imports.interface(kTypes).functions["[static]response.consume-body"] = consume_response_body;

  imports.interface(kTypes).functions["[static]response.new"] = new_response;
  define(imports, kTypes, "[method]response.get-status-code",
         [](Context&, Borrow<Response3> self) { return self->status; });
  define(imports, kTypes, "[method]response.set-status-code",
         [](Context&, Borrow<Response3> self, uint16_t status) {
           if (status < 100 || status > 999) return host::Result<host::Unit, host::Unit>::err({});
           self->status = status;
           return host::Result<host::Unit, host::Unit>::ok({});
         });
  define(imports, kTypes, "[method]response.get-headers",
         [](Context&, Borrow<Response3> self) { return copy_of(self->headers, true); });
}

}  // namespace

void add_wasi_http_types_p3(component::HostImports& imports) {
  for (const char* version : wasi::kWasi3Versions)
    add_types(imports, std::string("wasi:http/types@") + version);
}

}  // namespace gyre::http
