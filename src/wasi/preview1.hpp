// WASI preview 1 (`wasi_snapshot_preview1`) for core modules: what a `wasm32-wasip1`
// command built against wasi-libc imports, served straight from the host rather than
// through the preview1-to-0.2 adapter (Spin wraps such modules with that adapter; the
// guest sees the same thing either way, so the errno values follow the adapter over
// Wasmtime's WASI 0.2 wherever a guest can tell).
//
// What a run gets is exactly what its Preview1Config grants: arguments, environment, a
// stdin made of given bytes, stdout and stderr into sinks, clocks, random bytes, and a
// component's mounted `files`, read only, preopened at `/` (nothing is preopened when
// there are none). Sockets, signals and everything that would change a file fail with
// the errno the adapter gives; every preview1 function is defined, so any module links.
//
// Guest pointers are checked against the memory: a bad one is EFAULT, never a host read
// or write out of bounds. proc_exit ends the run with a trap (kProcExitTrap) and records
// the code, so an embedder can tell a clean exit from a crash (Preview1Ctx::exit_code).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "wasi/clocks.hpp"
#include "wasi/mounted_tree.hpp"
#include "wasm/error.hpp"
#include "wasm/linker.hpp"

namespace gyre::wasi {

inline constexpr std::string_view kPreview1Module = "wasi_snapshot_preview1";

// The trap message proc_exit ends a run with.
inline constexpr std::string_view kProcExitTrap = "wasi_snapshot_preview1: proc_exit";

// A component's mounted files as preview1 serves them: the tree wasi:filesystem serves
// too, built once (per component), shared read-only by every run.
using Preview1Files = MountedTree;
inline std::shared_ptr<const Preview1Files> make_preview1_files(
    const std::vector<MountedFile>& files) {
  return MountedTree::build(files);
}

struct Preview1Config {
  std::vector<std::string> arguments;  // argv, program name first
  std::vector<std::pair<std::string, std::string>> environment;
  std::string stdin_data;                             // fd 0 reads these bytes, then end of file
  std::function<void(std::string_view)> stdout_sink;  // none: discarded
  std::function<void(std::string_view)> stderr_sink;  // none: discarded
  std::shared_ptr<const Preview1Files> files;         // none or empty: no preopens
  std::shared_ptr<const Clock> clock;                 // none: the system clock
  // poll_oneoff does not sleep past this: a guest asleep inside a host call cannot be
  // interrupted by the engine's deadline, so the sleep ends early and the deadline
  // catches the guest once it runs again.
  std::optional<std::chrono::steady_clock::time_point> wake_by;
};

// One run's WASI state (descriptors, offsets, the exit code): the store data the
// functions of add_preview1 find through their caller. One thread at a time.
class Preview1Ctx {
 public:
  explicit Preview1Ctx(Preview1Config config);
  ~Preview1Ctx();
  Preview1Ctx(const Preview1Ctx&) = delete;
  Preview1Ctx& operator=(const Preview1Ctx&) = delete;

  // The code the guest passed to proc_exit, once it did.
  std::optional<uint32_t> exit_code() const;

  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// How a host function finds its run's Preview1Ctx from the store's data; by default the
// store data is the Preview1Ctx itself.
using Preview1CtxOf = Preview1Ctx& (*)(void* store_data);

// Defines every function of wasi_snapshot_preview1 in `linker`.
wasm::Result<void> add_preview1(wasm::Linker& linker, Preview1CtxOf ctx_of = nullptr);

}  // namespace gyre::wasi
