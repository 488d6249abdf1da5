// What a key-value backend is to the bindings: stores opened by label, each a map from
// string keys to byte values, with Spin's batch, increment and compare-and-swap
// operations. SQLite (Spin's default) and Redis implement it; every interface version the
// guest imports speaks to the same stores. All of it is called from many request threads
// at once, so implementations are thread-safe.
//
// Every call takes the calling guest's Suspender (null when there is none: set-up, tests)
// and each backend decides how to wait without holding the guest's thread: Redis waits on
// its socket through it, SQLite (a local file, whose calls block) runs on a worker thread
// through Suspender::offload. So the decision is per store, not per interface: one
// key-value interface serves stores of both kinds.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/suspender.hpp"

namespace gyre::spin::key_value {

// Spin's error cases, which every interface version maps to its own variant.
struct Error {
  enum class Kind { kStoreTableFull, kNoSuchStore, kAccessDenied, kOther };
  Kind kind = Kind::kOther;
  std::string message;  // kOther only

  static Error other(std::string message) { return Error{Kind::kOther, std::move(message)}; }
  bool operator==(const Error&) const = default;
};

template <class T>
using Outcome = gyre::Result<T, Error>;

// Values are arbitrary bytes, held in a std::string.
using Value = std::string;
using KeyValues = std::vector<std::pair<std::string, Value>>;
using MaybeKeyValues = std::vector<std::pair<std::string, std::optional<Value>>>;

// Why a swap did not happen: the value changed since current() (retry with a fresh
// compare-and-swap), or the backend failed.
struct SwapError {
  bool cas_failed = false;
  std::string message;
};

// One compare-and-swap on one key: current() reads the value swap() expects to replace.
class Cas {
 public:
  virtual ~Cas() = default;
  virtual Outcome<std::optional<Value>> current(Suspender* suspender) = 0;
  // Writes `value` if the key still holds what current() read (or, when it read nothing,
  // if the key is still absent).
  virtual gyre::Result<void, SwapError> swap(std::string_view value, Suspender* suspender) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Outcome<std::optional<Value>> get(std::string_view key, Suspender* suspender) = 0;
  virtual gyre::Result<void, Error> set(std::string_view key, std::string_view value,
                                        Suspender* suspender) = 0;
  virtual gyre::Result<void, Error> remove(std::string_view key, Suspender* suspender) = 0;
  virtual Outcome<bool> exists(std::string_view key, Suspender* suspender) = 0;
  virtual Outcome<std::vector<std::string>> keys(Suspender* suspender) = 0;
  // The keys that exist, with their values; absent keys are left out, as Spin does.
  virtual Outcome<MaybeKeyValues> get_many(const std::vector<std::string>& keys,
                                           Suspender* suspender) = 0;
  virtual gyre::Result<void, Error> set_many(const KeyValues& pairs, Suspender* suspender) = 0;
  virtual gyre::Result<void, Error> remove_many(const std::vector<std::string>& keys,
                                                Suspender* suspender) = 0;
  // Adds `delta` to the integer at `key` (0 when absent) and returns the sum; the
  // backend's own integer encoding (SQLite: 8 bytes little-endian; Redis: decimal text).
  virtual Outcome<int64_t> increment(std::string_view key, int64_t delta, Suspender* suspender) = 0;
  virtual Outcome<std::unique_ptr<Cas>> new_cas(std::string_view key, Suspender* suspender) = 0;
};

// One `[key_value_store.<label>]` entry (or the default store): opens its stores, each
// label a separate key space.
class StoreProvider {
 public:
  virtual ~StoreProvider() = default;
  virtual Outcome<std::shared_ptr<Store>> open(std::string_view label, Suspender* suspender) = 0;
  // For the start-up line: "\"/app/.spin/sqlite_key_value.db\"", "Redis at 127.0.0.1:6379".
  virtual std::string summary() const = 0;
};

}  // namespace gyre::spin::key_value
