#include "http/wasi_fields.hpp"

#include <algorithm>
#include <cctype>

#include "base/ascii.hpp"
#include "base/byte_copy.hpp"
#include "host/define.hpp"

namespace gyre::http {

// header-error's cases without a payload, the same in every version (0.3 adds two).
struct HeaderError {
  uint32_t which = 0;  // invalid-syntax, forbidden, immutable
};

}  // namespace gyre::http

namespace gyre::host {
template <>
struct WitType<http::HeaderError> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kVariant && t.labels.size() >= 3 &&
           t.labels[0] == "invalid-syntax" && t.labels[1] == "forbidden" &&
           t.labels[2] == "immutable";
  }
  static http::HeaderError from(const Val& v, Context&) {
    return http::HeaderError{static_cast<uint32_t>(v.bits)};
  }
  static Val to(http::HeaderError e, Context&) { return Val::variant(e.which); }
};
}  // namespace gyre::host

namespace gyre::http {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;
using FieldValue = std::vector<uint8_t>;
using FieldEntry = std::tuple<std::string, FieldValue>;
template <class T>
using Fallible = host::Result<T, HeaderError>;

const HeaderError kInvalidSyntax{0};
const HeaderError kForbidden{1};
const HeaderError kImmutable{2};

}  // namespace

Method method_of(const std::string& name) {
  static constexpr std::array<const char*, 9> kKnown = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  using V = decltype(Method::value);
  static const std::array<V, 9> kValues = {
      V(std::in_place_index<0>), V(std::in_place_index<1>), V(std::in_place_index<2>),
      V(std::in_place_index<3>), V(std::in_place_index<4>), V(std::in_place_index<5>),
      V(std::in_place_index<6>), V(std::in_place_index<7>), V(std::in_place_index<8>)};
  for (size_t i = 0; i < kKnown.size(); ++i) {
    if (name == kKnown[i]) return Method{kValues[i]};
  }
  return Method{V(std::in_place_index<9>, name)};
}

bool valid_token(std::string_view name) {
  if (name.empty()) return false;
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool valid_path_with_query(const std::optional<std::string>& path) {
  return !path || (!path->empty() && path->find_first_of(" \r\n#") == std::string::npos);
}

bool valid_authority(const std::optional<std::string>& authority) {
  return !authority || authority->find_first_of("/?# \r\n@") == std::string::npos;
}

std::optional<std::string> method_name(const Method& method) {
  static constexpr const char* kNames[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                           "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  if (method.value.index() < std::size(kNames)) return kNames[method.value.index()];
  const std::string& other = std::get<9>(method.value);
  if (!valid_token(other)) return std::nullopt;
  return other;
}

std::optional<std::string> scheme_name(const Scheme& scheme) {
  if (scheme.value.index() == 0) return "http";
  if (scheme.value.index() == 1) return "https";
  const std::string& other = std::get<2>(scheme.value);
  if (other.empty() || other.find_first_of(":/ ") != std::string::npos) return std::nullopt;
  return other;
}

std::optional<Scheme> scheme_of(const std::optional<std::string>& scheme) {
  if (!scheme) return std::nullopt;
  using V = decltype(Scheme::value);
  if (*scheme == "http") return Scheme{V(std::in_place_index<0>)};
  if (*scheme == "https") return Scheme{V(std::in_place_index<1>)};
  return Scheme{V(std::in_place_index<2>, *scheme)};
}

namespace {

bool valid_value(const FieldValue& value) {
  return std::none_of(value.begin(), value.end(),
                      [](uint8_t c) { return c == '\r' || c == '\n' || c == 0; });
}

std::optional<HeaderError> check(const Fields& fields, std::string_view name) {
  if (fields.immutable) return kImmutable;
  if (!valid_token(name)) return kInvalidSyntax;
  if (forbidden_header(ascii_lower(name))) return kForbidden;
  return std::nullopt;
}

std::string as_string(const FieldValue& v) {
  return to_text(v);
}
FieldValue as_bytes(const std::string& s) {
  return to_byte_vector(s);
}

}  // namespace

Own<Fields> copy_of(const Fields& fields, bool immutable) {
  auto out = std::make_unique<Fields>(fields);
  out->immutable = immutable;
  return Own<Fields>{std::move(out)};
}

void add_wasi_http_fields(component::HostImports& imports, std::string_view interface) {
  using host::define;
  const std::string_view kTypes = interface;
  host::define_resource<Fields>(imports, kTypes, "fields");
  define(imports, kTypes, "[constructor]fields",
         [](Context&) { return Own<Fields>{std::make_unique<Fields>()}; });
  define(imports, kTypes, "[static]fields.from-list",
         [](Context&, std::vector<FieldEntry> entries) {
           auto fields = std::make_unique<Fields>();
           for (auto& [name, value] : entries) {
             if (auto error = check(*fields, name)) return Fallible<Own<Fields>>::err(*error);
             if (!valid_value(value)) return Fallible<Own<Fields>>::err(kInvalidSyntax);
             fields->entries.emplace_back(ascii_lower(name), as_string(value));
           }
           return Fallible<Own<Fields>>::ok(Own<Fields>{std::move(fields)});
         });
  define(imports, kTypes, "[method]fields.get",
         [](Context&, Borrow<Fields> self, std::string name) {
           std::vector<FieldValue> out;
           const std::string key = ascii_lower(name);
           for (const auto& [k, v] : self->entries) {
             if (k == key) out.push_back(as_bytes(v));
           }
           return out;
         });
  define(imports, kTypes, "[method]fields.has",
         [](Context&, Borrow<Fields> self, std::string name) {
           const std::string key = ascii_lower(name);
           return std::any_of(self->entries.begin(), self->entries.end(),
                              [&](const auto& e) { return e.name == key; });
         });
  define(imports, kTypes, "[method]fields.set",
         [](Context&, Borrow<Fields> self, std::string name, std::vector<FieldValue> values) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           for (const auto& v : values) {
             if (!valid_value(v)) return Fallible<Unit>::err(kInvalidSyntax);
           }
           const std::string key = ascii_lower(name);
           std::erase_if(self->entries, [&](const auto& e) { return e.name == key; });
           for (const auto& v : values)
             self->entries.emplace_back(key, as_string(v));
           return Fallible<Unit>::ok({});
         });
  define(imports, kTypes, "[method]fields.delete",
         [](Context&, Borrow<Fields> self, std::string name) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           const std::string key = ascii_lower(name);
           std::erase_if(self->entries, [&](const auto& e) { return e.name == key; });
           return Fallible<Unit>::ok({});
         });
  define(imports, kTypes, "[method]fields.append",
         [](Context&, Borrow<Fields> self, std::string name, FieldValue value) {
           if (auto error = check(*self, name)) return Fallible<Unit>::err(*error);
           if (!valid_value(value)) return Fallible<Unit>::err(kInvalidSyntax);
           self->entries.emplace_back(ascii_lower(name), as_string(value));
           return Fallible<Unit>::ok({});
         });
  // 0.2 calls it `entries`, 0.3 `copy-all`.
  auto entries = [](Context&, Borrow<Fields> self) {
    std::vector<FieldEntry> out;
    for (const auto& [k, v] : self->entries)
      out.emplace_back(k, as_bytes(v));
    return out;
  };
  define(imports, kTypes, "[method]fields.entries", entries);
  define(imports, kTypes, "[method]fields.copy-all", entries);
  define(imports, kTypes, "[method]fields.clone",
         [](Context&, Borrow<Fields> self) { return copy_of(*self, false); });

  define(imports, kTypes, "[method]fields.get-and-delete",
         [](Context&, Borrow<Fields> self, std::string name) {
           if (auto error = check(*self, name))
             return Fallible<std::vector<FieldValue>>::err(*error);
           std::vector<FieldValue> out;
           const std::string key = ascii_lower(name);
           for (const auto& [k, v] : self->entries) {
             if (k == key) out.push_back(as_bytes(v));
           }
           std::erase_if(self->entries, [&](const auto& e) { return e.name == key; });
           return Fallible<std::vector<FieldValue>>::ok(std::move(out));
         });
}

}  // namespace gyre::http
