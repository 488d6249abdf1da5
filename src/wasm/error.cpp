#include "wasm/error.hpp"

#include <cstdio>
#include <string>

namespace gyre::wasm {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kCompile:
      return "compile error";
    case ErrorKind::kLink:
      return "link error";
    case ErrorKind::kInstantiate:
      return "instantiation error";
    case ErrorKind::kTrap:
      return "trap";
    case ErrorKind::kDeadline:
      return "deadline exceeded";
    case ErrorKind::kInterrupted:
      return "interrupted";
    case ErrorKind::kMemoryLimit:
      return "memory limit exceeded";
    case ErrorKind::kCache:
      return "compile cache error";
    case ErrorKind::kUsage:
      return "usage error";
  }
  return "error";
}

std::string Error::describe() const {
  std::string out = std::string(to_string(kind_)) + ": " + message_;
  for (size_t i = 0; i < backtrace_.size(); ++i) {
    const Frame& frame = backtrace_[i];
    out += "\n  " + std::to_string(i) + ": ";
    out += frame.module.empty() ? "<module>" : frame.module;
    out += "!";
    out += frame.function.empty() ? "<wasm function " + std::to_string(frame.function_index) + ">"
                                  : frame.function;
    out += " @ 0x" + [&] {
      char buffer[20];
      snprintf(buffer, sizeof buffer, "%llx", static_cast<unsigned long long>(frame.module_offset));
      return std::string(buffer);
    }();
  }
  return out;
}

}  // namespace gyre::wasm
