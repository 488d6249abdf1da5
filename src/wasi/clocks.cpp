#include "wasi/clocks.hpp"

#include <algorithm>
#include <thread>

#include "base/suspender.hpp"
#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"
#include "host/define.hpp"
#include "wasi/io.hpp"
#include "wasi/versions.hpp"

namespace gyre::wasi {
namespace {

struct Datetime {
  uint64_t seconds;
  uint32_t nanoseconds;
};
// 0.3's system-clock.instant: seconds may be negative (before the epoch).
struct Instant {
  int64_t seconds;
  uint32_t nanoseconds;
};

}  // namespace
}  // namespace gyre::wasi

namespace gyre::host {
template <>
struct RecordFields<wasi::Datetime> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"seconds", &wasi::Datetime::seconds},
                      std::pair{"nanoseconds", &wasi::Datetime::nanoseconds});
};
template <>
struct RecordFields<wasi::Instant> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"seconds", &wasi::Instant::seconds},
                      std::pair{"nanoseconds", &wasi::Instant::nanoseconds});
};
}  // namespace gyre::host

namespace gyre::wasi {
namespace {

// Waits until `until` on the guest's own stack: its fiber suspends (the lane serves other
// requests meanwhile), or, run without one, its thread sleeps. So a guest that lowered the
// call async gets it back already RETURNED, and its other tasks waited with it: Gyre has no
// timer that resolves a pending call yet.
host::Trapping<void> wait_until(host::Context& cx, std::chrono::steady_clock::time_point until) {
  Suspender* suspender = cx.instance.concurrency().scheduler.suspender();
  while (std::chrono::steady_clock::now() < until) {
    if (suspender == nullptr) {
      std::this_thread::sleep_until(until);
      break;
    }
    if (!suspender->suspend(until)) return std::string(kStoppedWhileWaiting);
  }
  return {};
}

// wasi:clocks 0.3 at one version: monotonic-clock (its waits are functions of their own
// now, no pollables) and system-clock (0.2's wall-clock, its seconds signed).
void add_clocks_p3(component::HostImports& imports, const std::shared_ptr<const Clock>& clock,
                   const std::string& version) {
  using host::Context;
  using std::chrono::nanoseconds;
  const std::string monotonic = "wasi:clocks/monotonic-clock@" + version;
  const std::string system = "wasi:clocks/system-clock@" + version;
  host::define(imports, monotonic, "now", [clock](Context&) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<nanoseconds>(clock->monotonic().time_since_epoch()).count());
  });
  host::define(imports, monotonic, "get-resolution", [](Context&) { return uint64_t{1}; });
  host::define(imports, monotonic, "wait-until", [clock](Context& cx, uint64_t when) {
    const auto now = clock->monotonic();
    const auto mark = std::chrono::steady_clock::time_point(nanoseconds(when));
    return wait_until(cx, std::chrono::steady_clock::now() + std::max(mark - now, nanoseconds(0)));
  });
  host::define(imports, monotonic, "wait-for", [](Context& cx, uint64_t duration) {
    return wait_until(cx, std::chrono::steady_clock::now() + nanoseconds(duration));
  });
  host::define(imports, system, "now", [clock](Context&) {
    const auto since =
        std::chrono::duration_cast<nanoseconds>(clock->wall().time_since_epoch()).count();
    const int64_t seconds = since / 1'000'000'000 - (since % 1'000'000'000 < 0 ? 1 : 0);
    return Instant{seconds, static_cast<uint32_t>(since - seconds * 1'000'000'000)};
  });
  host::define(imports, system, "get-resolution", [](Context&) { return uint64_t{1}; });
}

}  // namespace

void add_clocks(component::HostImports& imports, std::shared_ptr<const Clock> clock) {
  using host::Context;
  using host::Own;
  using std::chrono::nanoseconds;
  constexpr const char* kMonotonic = "wasi:clocks/monotonic-clock@0.2.0";
  constexpr const char* kWall = "wasi:clocks/wall-clock@0.2.0";

  // Instants are nanoseconds of the monotonic clock since its epoch.
  auto instant = [](std::chrono::steady_clock::time_point t) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count());
  };
  host::define(imports, kMonotonic, "now",
               [clock, instant](Context&) { return instant(clock->monotonic()); });
  host::define(imports, kMonotonic, "resolution", [](Context&) { return uint64_t{1}; });
  host::define(imports, kMonotonic, "subscribe-instant", [](Context&, uint64_t when) {
    const std::chrono::steady_clock::time_point at{
        nanoseconds(static_cast<int64_t>(std::min<uint64_t>(when, INT64_MAX)))};
    return Own<Pollable>{std::make_unique<DeadlinePollable>(at)};
  });
  host::define(imports, kMonotonic, "subscribe-duration", [clock](Context&, uint64_t duration) {
    const auto capped =
        nanoseconds(static_cast<int64_t>(std::min<uint64_t>(duration, INT64_MAX / 2)));
    return Own<Pollable>{std::make_unique<DeadlinePollable>(clock->monotonic() + capped)};
  });

  host::define(imports, kWall, "now", [clock](Context&) {
    const auto since =
        std::chrono::duration_cast<nanoseconds>(clock->wall().time_since_epoch()).count();
    return Datetime{static_cast<uint64_t>(since / 1'000'000'000),
                    static_cast<uint32_t>(since % 1'000'000'000)};
  });
  host::define(imports, kWall, "resolution", [](Context&) { return Datetime{0, 1}; });

  for (const char* version : kWasi3Versions)
    add_clocks_p3(imports, clock, version);
}

}  // namespace gyre::wasi
