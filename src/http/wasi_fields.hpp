// What every version of wasi:http/types shares: `fields` (headers and trailers) with
// Wasmtime's rules for names and values, and the method and scheme variants as C++ values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "component/host_imports.hpp"
#include "host/resources.hpp"
#include "http/wasi_types.hpp"

namespace gyre::http {

struct Method {
  std::variant<host::Unit, host::Unit, host::Unit, host::Unit, host::Unit, host::Unit, host::Unit,
               host::Unit, host::Unit, std::string>
      value;
};
struct Scheme {
  std::variant<host::Unit, host::Unit, std::string> value;
};

// "GET" as method.get, an unknown name as method.other.
Method method_of(const std::string& name);
// "http" and "https" as their cases, others as scheme.other.
std::optional<Scheme> scheme_of(const std::optional<std::string>& scheme);
// What a guest sets on a request it makes, as sent: the method's name ("GET", or other's
// own), a scheme's ("http", "https", or other's), each nothing when it cannot be sent.
std::optional<std::string> method_name(const Method& method);
std::optional<std::string> scheme_name(const Scheme& scheme);
// RFC 9110's token characters (a method's or a header's name).
bool valid_token(std::string_view name);
// Wasmtime's checks of a path-with-query and an authority a guest sets.
bool valid_path_with_query(const std::optional<std::string>& path);
bool valid_authority(const std::optional<std::string>& authority);
// A copy of `fields` for the guest, immutable (a request's or response's headers) or not.
host::Own<Fields> copy_of(const Fields& fields, bool immutable);

// Adds the `fields` resource to `interface` (wasi:http/types at some version), with the
// methods of every version (0.2's `entries`, 0.3's `copy-all` and `get-and-delete`): a
// component imports only those of its own.
void add_wasi_http_fields(component::HostImports& imports, std::string_view interface);

}  // namespace gyre::http

namespace gyre::host {
template <>
struct VariantLabels<http::Method> {
  static constexpr const char* labels[] = {"get",     "head",    "post",  "put",   "delete",
                                           "connect", "options", "trace", "patch", "other"};
};
template <>
struct VariantLabels<http::Scheme> {
  static constexpr const char* labels[] = {"HTTP", "HTTPS", "other"};
};
}  // namespace gyre::host
