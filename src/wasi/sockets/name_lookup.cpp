#include "wasi/sockets/name_lookup.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "base/suspender.hpp"
#include "host/waiting.hpp"

namespace gyre::wasi::sockets {
namespace {

using host::Borrow;
using host::Context;
using host::Own;

constexpr const char* kLookup = "wasi:sockets/ip-name-lookup@0.2.0";

// wasi:sockets/ip-name-lookup.resolve-address-stream: the whole answer, handed out one
// address at a time; an error is handed out once, then the stream is empty.
class ResolveAddressStream {
 public:
  explicit ResolveAddressStream(SocketResult<std::vector<IpAddress>> answer)
      : answer_(std::move(answer)) {}

  SocketResult<std::optional<IpAddress>> next() {
    if (!answer_.is_ok()) {
      const ErrorCode error = std::get<1>(answer_.value);
      answer_ = SocketResult<std::vector<IpAddress>>::ok({});
      return SocketResult<std::optional<IpAddress>>::err(error);
    }
    auto& addresses = std::get<0>(answer_.value);
    if (next_ >= addresses.size()) return SocketResult<std::optional<IpAddress>>::ok(std::nullopt);
    return SocketResult<std::optional<IpAddress>>::ok(addresses[next_++]);
  }

 private:
  SocketResult<std::vector<IpAddress>> answer_;
  size_t next_ = 0;
};

// A literal IP address (IPv6 with or without brackets), as the URL host parser reads it.
std::optional<OsAddress> literal(const std::string& name) {
  std::string text = name;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  OsAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (text == name && inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    out.length = sizeof *v4;
    return out;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    out.length = sizeof *v6;
    return out;
  }
  return std::nullopt;
}

// Whether `name` is a domain the URL host parser takes: not empty, none of its forbidden
// code points (nor controls, nor a lone bracket).
bool valid_domain(const std::string& name) {
  if (name.empty()) return false;
  static const std::string kForbidden = " #%/:<>?@[\\]^|";
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f || kForbidden.find(c) != std::string::npos;
  });
}

// getaddrinfo, as Rust's ToSocketAddrs calls it (stream sockets, port 0): the addresses
// in its order, IPv4-mapped ones as IPv4.
SocketResult<std::vector<IpAddress>> resolve(const std::string& name) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(name.c_str(), "0", &hints, &found) != 0 || found == nullptr)
    return SocketResult<std::vector<IpAddress>>::err(ErrorCode::kNameUnresolvable);
  std::vector<IpAddress> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
    IpAddress ip = ip_address_of(a->ai_addr);
    if (a->ai_family == AF_INET6) {
      const auto& v6 = reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        const uint8_t* b = v6.s6_addr + 12;
        ip = IpAddress{Ipv4Address{b[0], b[1], b[2], b[3]}};
      }
    }
    out.push_back(ip);
  }
  ::freeaddrinfo(found);
  return SocketResult<std::vector<IpAddress>>::ok(std::move(out));
}

SocketResult<Own<ResolveAddressStream>> resolve_addresses(Context& cx, Network& network,
                                                          std::string name) {
  using Out = SocketResult<Own<ResolveAddressStream>>;
  auto stream = [](SocketResult<std::vector<IpAddress>> answer) {
    return Out::ok(
        Own<ResolveAddressStream>{std::make_unique<ResolveAddressStream>(std::move(answer))});
  };
  const auto ip = literal(name);
  if (!ip && !valid_domain(name)) return Out::err(ErrorCode::kInvalidArgument);
  if (!network.config().allow_ip_name_lookup) return Out::err(ErrorCode::kPermanentResolverFailure);
  if (ip) return stream(SocketResult<std::vector<IpAddress>>::ok({ip_address_of(ip->get())}));
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::optional<SocketResult<std::vector<IpAddress>>> answer;
  if (Suspender* suspender = host::suspender_of(cx.instance)) {
    suspender->offload([&] { answer.emplace(resolve(lower)); });
  } else {
    answer.emplace(resolve(lower));
  }
  return stream(std::move(*answer));
}

}  // namespace

void add_ip_name_lookup(component::HostImports& imports) {
  host::define_resource<ResolveAddressStream>(imports, kLookup, "resolve-address-stream");
  host::define(imports, kLookup, "resolve-addresses",
               [](Context& cx, Borrow<Network> network, std::string name) {
                 return resolve_addresses(cx, *network, std::move(name));
               });
  host::define(imports, kLookup, "[method]resolve-address-stream.resolve-next-address",
               [](Context&, Borrow<ResolveAddressStream> self) { return self->next(); });
  // The answer is complete before the stream exists: its pollable is always ready.
  host::define(imports, kLookup, "[method]resolve-address-stream.subscribe",
               [](Context&, Borrow<ResolveAddressStream>) {
                 return Own<Pollable>{std::make_unique<ReadyPollable>()};
               });
}

}  // namespace gyre::wasi::sockets
