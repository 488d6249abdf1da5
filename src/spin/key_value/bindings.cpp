#include "spin/key_value/bindings.hpp"

#include <map>
#include <tuple>
#include <variant>

#include "host/define.hpp"
#include "host/waiting.hpp"

namespace gyre::spin::key_value {

// The WIT-facing shapes: each interface's own error variant, and byte values that cross
// as list<u8> without a copy into a std::vector.
struct Blob {
  std::string bytes;
};
// fermyon:spin/key-value@2.0.0 and spin:key-value/key-value@3.0.0
struct SpinError {
  std::variant<host::Unit, host::Unit, host::Unit, std::string> value;
};
// fermyon:spin/key-value (Spin 1)
struct LegacyError {
  std::variant<host::Unit, host::Unit, host::Unit, host::Unit, host::Unit, std::string> value;
};
// wasi:keyvalue/store
struct WasiError {
  std::variant<host::Unit, host::Unit, std::string> value;
};
struct KeyResponse {
  std::vector<std::string> keys;
  std::optional<std::string> cursor;
};

// What the guest holds: an open store, or a compare-and-swap on one key of one.
struct OpenStore {
  std::shared_ptr<Store> store;
};
struct OpenCas {
  std::shared_ptr<Store> store;
  std::string key;
  std::unique_ptr<Cas> cas;
};
// wasi:keyvalue/atomics
struct CasError {
  std::variant<WasiError, host::Own<OpenCas>> value;
};

}  // namespace gyre::spin::key_value

namespace gyre::host {
template <>
struct WitType<spin::key_value::Blob> {
  static bool matches(const ValueType& t) { return is_byte_list(t); }
  static spin::key_value::Blob from(const Val& v, Context&) { return {v.bytes}; }
  static Val to(spin::key_value::Blob v, Context&) { return Val::byte_list(std::move(v.bytes)); }
};
template <>
struct VariantLabels<spin::key_value::SpinError> {
  static constexpr const char* labels[] = {"store-table-full", "no-such-store", "access-denied",
                                           "other"};
};
template <>
struct VariantLabels<spin::key_value::LegacyError> {
  static constexpr const char* labels[] = {"store-table-full", "no-such-store", "access-denied",
                                           "invalid-store",    "no-such-key",   "io"};
};
template <>
struct VariantLabels<spin::key_value::WasiError> {
  static constexpr const char* labels[] = {"no-such-store", "access-denied", "other"};
};
template <>
struct VariantLabels<spin::key_value::CasError> {
  static constexpr const char* labels[] = {"store-error", "cas-failed"};
};
template <>
struct RecordFields<spin::key_value::KeyResponse> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"keys", &spin::key_value::KeyResponse::keys},
                      std::pair{"cursor", &spin::key_value::KeyResponse::cursor});
};
}  // namespace gyre::host

namespace gyre::spin::key_value {
namespace {

using host::Borrow;
using host::Bytes;
using host::Context;
using host::define;
using host::Own;
using host::Unit;
using Void = gyre::Result<void, Error>;

constexpr const char* kSpinV1 = "fermyon:spin/key-value";
constexpr const char* kSpinV2 = "fermyon:spin/key-value@2.0.0";
constexpr const char* kSpinV3 = "spin:key-value/key-value@3.0.0";
constexpr const char* kWasiStore = "wasi:keyvalue/store@0.2.0-draft2";
constexpr const char* kWasiAtomics = "wasi:keyvalue/atomics@0.2.0-draft2";
constexpr const char* kWasiBatch = "wasi:keyvalue/batch@0.2.0-draft2";

template <size_t I, class E, class... A>
E variant_case(A&&... payload) {
  return E{decltype(E::value)(std::in_place_index<I>, std::forward<A>(payload)...)};
}

SpinError to_spin(Error e) {
  switch (e.kind) {
    case Error::Kind::kStoreTableFull:
      return variant_case<0, SpinError>();
    case Error::Kind::kNoSuchStore:
      return variant_case<1, SpinError>();
    case Error::Kind::kAccessDenied:
      return variant_case<2, SpinError>();
    case Error::Kind::kOther:
      break;
  }
  return variant_case<3, SpinError>(std::move(e.message));
}

LegacyError to_legacy(Error e) {
  switch (e.kind) {
    case Error::Kind::kStoreTableFull:
      return variant_case<0, LegacyError>();
    case Error::Kind::kNoSuchStore:
      return variant_case<1, LegacyError>();
    case Error::Kind::kAccessDenied:
      return variant_case<2, LegacyError>();
    case Error::Kind::kOther:
      break;
  }
  return variant_case<5, LegacyError>(std::move(e.message));
}

WasiError to_wasi(Error e) {
  switch (e.kind) {
    case Error::Kind::kStoreTableFull:
      return variant_case<2, WasiError>("store table full");
    case Error::Kind::kNoSuchStore:
      return variant_case<0, WasiError>();
    case Error::Kind::kAccessDenied:
      return variant_case<1, WasiError>();
    case Error::Kind::kOther:
      break;
  }
  return variant_case<2, WasiError>(std::move(e.message));
}

template <class E>
E convert(Error e) {
  if constexpr (std::is_same_v<E, SpinError>) return to_spin(std::move(e));
  if constexpr (std::is_same_v<E, LegacyError>) return to_legacy(std::move(e));
  if constexpr (std::is_same_v<E, WasiError>) return to_wasi(std::move(e));
}

// A backend outcome as the WIT result<T, E> the guest gets, the ok value through `map`.
template <class E, class T, class F>
auto answer(Outcome<T> outcome, F map) {
  using R = host::Result<decltype(map(std::declval<T>())), E>;
  if (!outcome) return R::err(convert<E>(std::move(outcome).error()));
  return R::ok(map(std::move(outcome).value()));
}
template <class E, class T>
host::Result<T, E> answer(Outcome<T> outcome) {
  return answer<E>(std::move(outcome), [](T v) { return v; });
}
template <class E>
host::Result<Unit, E> answer(Void outcome) {
  if (!outcome) return host::Result<Unit, E>::err(convert<E>(std::move(outcome).error()));
  return host::Result<Unit, E>::ok({});
}

std::optional<Blob> to_blob(std::optional<Value> value) {
  if (!value) return std::nullopt;
  return Blob{std::move(*value)};
}

std::string_view view(Bytes bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// What a store call waits through: the guest's Suspender (store.hpp says how each backend
// uses it).
Suspender* waits(Context& cx) {
  return host::suspender_of(cx.instance);
}

// What one component may open: the app's stores, limited to its grants.
struct Access {
  std::shared_ptr<const Stores> stores;
  std::set<std::string, std::less<>> allowed;

  Outcome<std::shared_ptr<Store>> open(Context& cx, std::string_view label) const {
    if (!allowed.count(label)) return Error{Error::Kind::kAccessDenied, {}};
    return stores->open(label, waits(cx));
  }
};
using AccessPtr = std::shared_ptr<const Access>;

// fermyon:spin/key-value@2.0.0 and spin:key-value/key-value@3.0.0: the same functions on
// a `store` resource.
void add_spin_store(component::HostImports& imports, const char* iface, AccessPtr access) {
  using R = host::Result<Own<OpenStore>, SpinError>;
  host::define_resource<OpenStore>(imports, iface, "store");
  define(imports, iface, "[static]store.open", [access](Context& cx, std::string_view label) -> R {
    auto store = access->open(cx, label);
    if (!store) return R::err(to_spin(std::move(store).error()));
    return R::ok(Own<OpenStore>{std::make_unique<OpenStore>(OpenStore{std::move(*store)})});
  });
  define(imports, iface, "[method]store.get",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<SpinError>(self->store->get(key, waits(cx)), to_blob);
         });
  define(imports, iface, "[method]store.set",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key, Bytes value) {
           return answer<SpinError>(self->store->set(key, view(value), waits(cx)));
         });
  define(imports, iface, "[method]store.delete",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<SpinError>(self->store->remove(key, waits(cx)));
         });
  define(imports, iface, "[method]store.exists",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<SpinError>(self->store->exists(key, waits(cx)));
         });
}

void add_spin_v2(component::HostImports& imports, AccessPtr access) {
  add_spin_store(imports, kSpinV2, std::move(access));
  define(imports, kSpinV2, "[method]store.get-keys", [](Context& cx, Borrow<OpenStore> self) {
    return answer<SpinError>(self->store->keys(waits(cx)));
  });
}

void add_spin_v3(component::HostImports& imports, AccessPtr access) {
  add_spin_store(imports, kSpinV3, std::move(access));
  // The keys arrive through a stream, and the outcome (an error, if listing failed)
  // through a future the guest reads after the stream ends.
  using Done = host::Result<host::Unit, SpinError>;
  define(imports, kSpinV3, "[method]store.get-keys", [](Context& cx, Borrow<OpenStore> self) {
    auto keys = answer<SpinError>(self->store->keys(waits(cx)));
    if (!keys.is_ok()) {
      return std::tuple{host::Stream<std::string>{},
                        host::Future<Done>{Done::err(std::get<1>(std::move(keys.value)))}};
    }
    return std::tuple{host::Stream<std::string>{std::get<0>(std::move(keys.value))},
                      host::Future<Done>{Done::ok({})}};
  });
}

// Spin 1: stores are u32 handles into a table of the instance's own.
struct LegacyHandles {
  std::map<uint32_t, std::shared_ptr<Store>> stores;
  uint32_t next = 0;
};

void add_spin_v1(component::HostImports& imports, AccessPtr access) {
  using Handle = host::Result<uint32_t, LegacyError>;
  auto handles = [](Context& cx) -> LegacyHandles& {
    return cx.instance.host_state<LegacyHandles>();
  };
  // Runs `op(store)` on the store behind `handle`, or answers invalid-store.
  auto with_store = [handles](Context& cx, uint32_t handle, auto op) {
    auto& table = handles(cx).stores;
    auto it = table.find(handle);
    using R = decltype(op(*it->second));
    if (it == table.end()) return R::err(variant_case<3, LegacyError>());
    return op(*it->second);
  };
  define(imports, kSpinV1, "open", [access, handles](Context& cx, std::string_view name) {
    auto store = access->open(cx, name);
    if (!store) return Handle::err(to_legacy(std::move(store).error()));
    LegacyHandles& table = handles(cx);
    const uint32_t handle = table.next++;
    table.stores.emplace(handle, std::move(*store));
    return Handle::ok(handle);
  });
  define(imports, kSpinV1, "get", [with_store](Context& cx, uint32_t handle, std::string_view key) {
    return with_store(cx, handle, [&](Store& store) {
      using R = host::Result<Blob, LegacyError>;
      auto value = store.get(key, waits(cx));
      if (!value) return R::err(to_legacy(std::move(value).error()));
      if (!*value) return R::err(variant_case<4, LegacyError>());
      return R::ok(Blob{std::move(**value)});
    });
  });
  define(imports, kSpinV1, "set",
         [with_store](Context& cx, uint32_t handle, std::string_view key, Bytes value) {
           return with_store(cx, handle, [&](Store& store) {
             return answer<LegacyError>(store.set(key, view(value), waits(cx)));
           });
         });
  define(imports, kSpinV1, "delete",
         [with_store](Context& cx, uint32_t handle, std::string_view key) {
           return with_store(cx, handle, [&](Store& store) {
             return answer<LegacyError>(store.remove(key, waits(cx)));
           });
         });
  define(imports, kSpinV1, "exists",
         [with_store](Context& cx, uint32_t handle, std::string_view key) {
           return with_store(cx, handle, [&](Store& store) {
             return answer<LegacyError>(store.exists(key, waits(cx)));
           });
         });
  define(imports, kSpinV1, "get-keys", [with_store](Context& cx, uint32_t handle) {
    return with_store(cx, handle,
                      [&](Store& store) { return answer<LegacyError>(store.keys(waits(cx))); });
  });
  define(imports, kSpinV1, "close",
         [handles](Context& cx, uint32_t handle) { handles(cx).stores.erase(handle); });
}

void add_wasi_store(component::HostImports& imports, AccessPtr access) {
  using R = host::Result<Own<OpenStore>, WasiError>;
  host::define_resource<OpenStore>(imports, kWasiStore, "bucket");
  define(imports, kWasiStore, "open", [access](Context& cx, std::string_view identifier) -> R {
    auto store = access->open(cx, identifier);
    if (!store) return R::err(to_wasi(std::move(store).error()));
    return R::ok(Own<OpenStore>{std::make_unique<OpenStore>(OpenStore{std::move(*store)})});
  });
  define(imports, kWasiStore, "[method]bucket.get",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<WasiError>(self->store->get(key, waits(cx)), to_blob);
         });
  define(imports, kWasiStore, "[method]bucket.set",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key, Bytes value) {
           return answer<WasiError>(self->store->set(key, view(value), waits(cx)));
         });
  define(imports, kWasiStore, "[method]bucket.delete",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<WasiError>(self->store->remove(key, waits(cx)));
         });
  define(imports, kWasiStore, "[method]bucket.exists",
         [](Context& cx, Borrow<OpenStore> self, std::string_view key) {
           return answer<WasiError>(self->store->exists(key, waits(cx)));
         });
  define(imports, kWasiStore, "[method]bucket.list-keys",
         [](Context& cx, Borrow<OpenStore> self, std::optional<std::string> cursor) {
           using R = host::Result<KeyResponse, WasiError>;
           if (cursor) return R::err(variant_case<2, WasiError>("list_keys: cursor not supported"));
           return answer<WasiError>(self->store->keys(waits(cx)),
                                    [](std::vector<std::string> keys) {
                                      return KeyResponse{std::move(keys), std::nullopt};
                                    });
         });
}

// A fresh compare-and-swap on `key`, with nothing read yet.
Outcome<Own<OpenCas>> start_cas(std::shared_ptr<Store> store, std::string key,
                                Suspender* suspender) {
  auto cas = store->new_cas(key, suspender);
  if (!cas) return std::move(cas).error();
  return Own<OpenCas>{
      std::make_unique<OpenCas>(OpenCas{std::move(store), std::move(key), std::move(cas).value()})};
}

void add_wasi_atomics(component::HostImports& imports) {
  host::define_resource<OpenCas>(imports, kWasiAtomics, "cas");
  define(imports, kWasiAtomics, "[static]cas.new",
         [](Context& cx, Borrow<OpenStore> bucket, std::string key) {
           return answer<WasiError>(start_cas(bucket->store, std::move(key), waits(cx)),
                                    [](Own<OpenCas> cas) { return cas; });
         });
  define(imports, kWasiAtomics, "[method]cas.current", [](Context& cx, Borrow<OpenCas> self) {
    return answer<WasiError>(self->cas->current(waits(cx)), to_blob);
  });
  define(imports, kWasiAtomics, "increment",
         [](Context& cx, Borrow<OpenStore> bucket, std::string_view key, int64_t delta) {
           return answer<WasiError>(bucket->store->increment(key, delta, waits(cx)));
         });
  // As Spin: when the value changed, the guest gets a new compare-and-swap that has
  // already read the value now there, ready for another try.
  define(imports, kWasiAtomics, "swap", [](Context& cx, Own<OpenCas> cas, Bytes value) {
    using R = host::Result<Unit, CasError>;
    auto store_error = [](Error e) {
      return R::err(variant_case<0, CasError>(to_wasi(std::move(e))));
    };
    auto swapped = cas.object->cas->swap(view(value), waits(cx));
    if (swapped) return R::ok({});
    SwapError error = std::move(swapped).error();
    if (!error.cas_failed) return store_error(Error::other(std::move(error.message)));
    auto retry = start_cas(cas.object->store, cas.object->key, waits(cx));
    if (!retry) return store_error(std::move(retry).error());
    if (auto current = retry->object->cas->current(waits(cx)); !current)
      return store_error(std::move(current).error());
    return R::err(variant_case<1, CasError>(std::move(retry).value()));
  });
}

void add_wasi_batch(component::HostImports& imports) {
  using Pairs = std::vector<std::tuple<std::string, std::optional<Blob>>>;
  using Unit_ = host::Result<Unit, WasiError>;
  define(imports, kWasiBatch, "get-many",
         [](Context& cx, Borrow<OpenStore> bucket, std::vector<std::string> keys) {
           if (keys.empty()) return host::Result<Pairs, WasiError>::ok({});
           return answer<WasiError>(bucket->store->get_many(keys, waits(cx)),
                                    [](MaybeKeyValues found) {
                                      Pairs out;
                                      for (auto& [key, value] : found)
                                        out.emplace_back(std::move(key), to_blob(std::move(value)));
                                      return out;
                                    });
         });
  define(imports, kWasiBatch, "set-many",
         [](Context& cx, Borrow<OpenStore> bucket,
            std::vector<std::tuple<std::string, Blob>> key_values) {
           if (key_values.empty()) return Unit_::ok({});
           KeyValues pairs;
           for (auto& [key, value] : key_values)
             pairs.emplace_back(std::move(key), std::move(value.bytes));
           return answer<WasiError>(bucket->store->set_many(pairs, waits(cx)));
         });
  define(imports, kWasiBatch, "delete-many",
         [](Context& cx, Borrow<OpenStore> bucket, std::vector<std::string> keys) {
           if (keys.empty()) return Unit_::ok({});
           return answer<WasiError>(bucket->store->remove_many(keys, waits(cx)));
         });
}

}  // namespace

void add_bindings(component::HostImports& imports, std::shared_ptr<const Stores> stores,
                  std::set<std::string, std::less<>> allowed) {
  auto access = std::make_shared<const Access>(Access{std::move(stores), std::move(allowed)});
  add_spin_v1(imports, access);
  add_spin_v2(imports, access);
  add_spin_v3(imports, access);
  add_wasi_store(imports, access);
  add_wasi_atomics(imports);
  add_wasi_batch(imports);
}

}  // namespace gyre::spin::key_value
