#include "wasi/clocks.hpp"

#include "host/define.hpp"
#include "wasi/io.hpp"

namespace gyre::wasi {
namespace {

struct Datetime {
  uint64_t seconds;
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
}  // namespace gyre::host

namespace gyre::wasi {

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
}

}  // namespace gyre::wasi
