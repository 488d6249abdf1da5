#include "wasm/wasmtime_glue.hpp"

#include <string_view>
#include <vector>

#include "wasm/caller.hpp"

namespace gyre::wasm::glue {
namespace {

static_assert(static_cast<uint8_t>(TrapCode::kInterrupt) == WASMTIME_TRAP_CODE_INTERRUPT);
static_assert(static_cast<uint8_t>(TrapCode::kUnreachable) ==
              WASMTIME_TRAP_CODE_UNREACHABLE_CODE_REACHED);
static_assert(static_cast<uint8_t>(TrapCode::kOutOfFuel) == WASMTIME_TRAP_CODE_OUT_OF_FUEL);

// Text of the limiter's refusal when a store's memory limit traps (see the engine crate).
constexpr std::string_view kMemoryLimitText = "forcing trap when growing memory";

std::vector<Frame> to_frames(const wasm_frame_vec_t& trace) {
  std::vector<Frame> frames;
  frames.reserve(trace.size);
  for (size_t i = 0; i < trace.size; ++i) {
    const wasm_frame_t* raw = trace.data[i];
    Frame frame;
    if (const wasm_name_t* name = wasmtime_frame_module_name(raw)) frame.module = to_string(*name);
    if (const wasm_name_t* name = wasmtime_frame_func_name(raw)) frame.function = to_string(*name);
    frame.function_index = wasm_frame_func_index(raw);
    frame.module_offset = wasm_frame_module_offset(raw);
    frames.push_back(std::move(frame));
  }
  return frames;
}

// Traps and errors are told apart by code first and by the message only for the one case
// Wasmtime reports without a code.
ErrorKind classify(ErrorKind fallback, std::optional<TrapCode> code, const std::string& message) {
  if (code == TrapCode::kInterrupt) return ErrorKind::kDeadline;
  if (message.find(kDeadlineText) != std::string::npos) return ErrorKind::kDeadline;
  if (message.find(kInterruptedText) != std::string::npos) return ErrorKind::kInterrupted;
  if (message.find(kMemoryLimitText) != std::string::npos) return ErrorKind::kMemoryLimit;
  return fallback;
}

}  // namespace

std::string to_string(const wasm_byte_vec_t& bytes) {
  std::string text(bytes.data, bytes.size);
  // Wasmtime's messages sometimes carry a terminating NUL.
  while (!text.empty() && text.back() == '\0')
    text.pop_back();
  return text;
}

Error take_error(wasmtime_error_t* error, ErrorKind kind) {
  wasm_name_t message;
  wasmtime_error_message(error, &message);
  std::string text = to_string(message);
  wasm_byte_vec_delete(&message);
  wasm_frame_vec_t trace;
  wasmtime_error_wasm_trace(error, &trace);
  std::vector<Frame> frames = to_frames(trace);
  wasm_frame_vec_delete(&trace);
  wasmtime_error_delete(error);
  const ErrorKind classified = classify(kind, std::nullopt, text);
  // A stop the host asked for says only why; the frames say where.
  if (classified == ErrorKind::kInterrupted) text = kInterruptedText;
  if (classified == ErrorKind::kDeadline) text = kDeadlineText;
  return Error(classified, std::move(text), std::move(frames));
}

Error take_trap(wasm_trap_t* trap) {
  wasm_message_t message;
  wasm_trap_message(trap, &message);
  std::string text = to_string(message);
  wasm_byte_vec_delete(&message);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  std::vector<Frame> frames = to_frames(trace);
  wasm_frame_vec_delete(&trace);
  std::optional<TrapCode> code;
  wasmtime_trap_code_t raw_code;
  if (wasmtime_trap_code(trap, &raw_code)) code = static_cast<TrapCode>(raw_code);
  wasm_trap_delete(trap);
  const ErrorKind classified = classify(ErrorKind::kTrap, code, text);
  return Error(classified, std::move(text), std::move(frames), code);
}

namespace {

wasm_valkind_t to_valkind(ValType type) {
  switch (type) {
    case ValType::kI32:
      return WASM_I32;
    case ValType::kI64:
      return WASM_I64;
    case ValType::kF32:
      return WASM_F32;
    case ValType::kF64:
      return WASM_F64;
  }
  return WASM_I32;
}

ValType from_valkind(wasm_valkind_t kind) {
  switch (kind) {
    case WASM_I64:
      return ValType::kI64;
    case WASM_F32:
      return ValType::kF32;
    case WASM_F64:
      return ValType::kF64;
    default:
      return ValType::kI32;
  }
}

void fill(wasm_valtype_vec_t* out, const std::vector<ValType>& types) {
  wasm_valtype_vec_new_uninitialized(out, types.size());
  for (size_t i = 0; i < types.size(); ++i)
    out->data[i] = wasm_valtype_new(to_valkind(types[i]));
}

std::vector<ValType> read(const wasm_valtype_vec_t* types) {
  std::vector<ValType> out;
  out.reserve(types->size);
  for (size_t i = 0; i < types->size; ++i)
    out.push_back(from_valkind(wasm_valtype_kind(types->data[i])));
  return out;
}

}  // namespace

wasm_functype_t* new_functype(const FuncType& type) {
  wasm_valtype_vec_t params, results;
  fill(&params, type.params);
  fill(&results, type.results);
  return wasm_functype_new(&params, &results);
}

FuncType to_functype(const wasm_functype_t* type) {
  return FuncType{read(wasm_functype_params(type)), read(wasm_functype_results(type))};
}

namespace {

struct Binding {
  HostCallback callback;
  void* env;
  void (*finalizer)(void*);
};

}  // namespace

void* new_host_binding(HostCallback callback, void* env, void (*finalizer)(void*)) {
  return new Binding{callback, env, finalizer};
}

wasm_trap_t* host_trampoline(void* env, wasmtime_caller_t* raw_caller, wasmtime_val_raw_t* slots,
                             size_t count) {
  auto* binding = static_cast<Binding*>(env);
  Caller caller(raw_caller);
  HostResult result;
  // No C++ exception may unwind through Wasmtime's frames: whatever a host function
  // throws ends the guest's call as a trap that names it, and the host goes on.
  try {
    result = binding->callback(binding->env, caller, {reinterpret_cast<RawValue*>(slots), count});
  } catch (const std::exception& e) {
    result = HostTrap{std::string("a host function failed: ") + e.what()};
  } catch (...) {
    result = HostTrap{"a host function failed with an unknown exception"};
  }
  if (!result) return nullptr;
  return wasmtime_trap_new(result->message.data(), result->message.size());
}

void finalize_host_binding(void* env) {
  auto* binding = static_cast<Binding*>(env);
  if (binding->finalizer != nullptr) binding->finalizer(binding->env);
  delete binding;
}

wasmtime_extern_t to_wasmtime(const Extern& item) {
  wasmtime_extern_t out{};
  switch (item.kind) {
    case ExternKind::kFunc:
      out.kind = WASMTIME_EXTERN_FUNC;
      out.of.func = from_handle<wasmtime_func_t>(item.handle);
      break;
    case ExternKind::kGlobal:
      out.kind = WASMTIME_EXTERN_GLOBAL;
      out.of.global = from_handle<wasmtime_global_t>(item.handle);
      break;
    case ExternKind::kTable:
      out.kind = WASMTIME_EXTERN_TABLE;
      out.of.table = from_handle<wasmtime_table_t>(item.handle);
      break;
    case ExternKind::kMemory:
      out.kind = WASMTIME_EXTERN_MEMORY;
      out.of.memory = from_handle<wasmtime_memory_t>(item.handle);
      break;
    case ExternKind::kTag:
      out.kind = WASMTIME_EXTERN_TAG;
      out.of.tag = from_handle<wasmtime_tag_t>(item.handle);
      break;
  }
  return out;
}

Extern from_wasmtime(const wasmtime_extern_t& item) {
  switch (item.kind) {
    case WASMTIME_EXTERN_FUNC:
      return Extern{ExternKind::kFunc, to_handle(item.of.func)};
    case WASMTIME_EXTERN_GLOBAL:
      return Extern{ExternKind::kGlobal, to_handle(item.of.global)};
    case WASMTIME_EXTERN_TABLE:
      return Extern{ExternKind::kTable, to_handle(item.of.table)};
    case WASMTIME_EXTERN_MEMORY:
      return Extern{ExternKind::kMemory, to_handle(item.of.memory)};
    default:
      return Extern{ExternKind::kTag, to_handle(item.of.tag)};
  }
}

}  // namespace gyre::wasm::glue
