// wasi:clocks 0.2 (monotonic-clock, wall-clock) and 0.3 in every version of
// wasi/versions.hpp (monotonic-clock, system-clock) over a Clock the embedder passes in,
// so tests can stand still in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "component/host_imports.hpp"

namespace gyre::wasi {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point monotonic() const = 0;
  virtual std::chrono::system_clock::time_point wall() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();
  }
  std::chrono::system_clock::time_point wall() const override {
    return std::chrono::system_clock::now();
  }
};

void add_clocks(component::HostImports& imports, std::shared_ptr<const Clock> clock);

}  // namespace gyre::wasi
