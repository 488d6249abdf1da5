// What can go wrong in the engine layer, as a value: the kind tells a caller what to do
// (a deadline or a memory limit is the guest's fault and ends one request; a compile error
// is the app's), the message and wasm backtrace tell a person what happened.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace gyre::wasm {

enum class ErrorKind {
  kCompile,      // the module does not validate or compile
  kLink,         // an import is missing or has the wrong type
  kInstantiate,  // instantiation failed (resources, start function)
  kTrap,         // the guest trapped, or a host function it called failed
  kDeadline,     // the store's epoch deadline passed while the guest ran
  kInterrupted,  // the host stopped the guest: its client went away, or the server stops
  kMemoryLimit,  // the guest tried to grow a memory past the store's limit
  kCache,        // the on-disk compile cache could not be read or written
  kUsage,        // the embedder called the API wrongly (wrong arity, unknown export)
};

// The trap codes a caller may want to tell apart; values are Wasmtime's.
enum class TrapCode : uint8_t {
  kStackOverflow = 0,
  kMemoryOutOfBounds = 1,
  kHeapMisaligned = 2,
  kTableOutOfBounds = 3,
  kIndirectCallToNull = 4,
  kBadSignature = 5,
  kIntegerOverflow = 6,
  kIntegerDivisionByZero = 7,
  kBadConversionToInteger = 8,
  kUnreachable = 9,
  kInterrupt = 10,
  kOutOfFuel = 11,
};

// One wasm frame of a backtrace, innermost first.
struct Frame {
  std::string module;    // the module's name section name, or empty
  std::string function;  // the function's name section name, or empty
  uint32_t function_index = 0;
  uint64_t module_offset = 0;  // byte offset of the instruction in the module binary
};

class Error {
 public:
  Error(ErrorKind kind, std::string message, std::vector<Frame> backtrace = {},
        std::optional<TrapCode> trap_code = std::nullopt)
      : kind_(kind),
        message_(std::move(message)),
        backtrace_(std::move(backtrace)),
        trap_code_(trap_code) {}

  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  std::span<const Frame> backtrace() const { return backtrace_; }
  std::optional<TrapCode> trap_code() const { return trap_code_; }

  // The message followed by one line per frame, for logs.
  std::string describe() const;

 private:
  ErrorKind kind_;
  std::string message_;
  std::vector<Frame> backtrace_;
  std::optional<TrapCode> trap_code_;
};

const char* to_string(ErrorKind kind);

// The messages a store's stop check (Store::stop_when) ends a guest with; errors carrying
// them are classified kDeadline and kInterrupted.
inline constexpr std::string_view kDeadlineText = "the request's deadline passed";
inline constexpr std::string_view kInterruptedText =
    "the guest was stopped: its client went away, or the server is shutting down";

template <class T>
using Result = gyre::Result<T, Error>;

}  // namespace gyre::wasm
