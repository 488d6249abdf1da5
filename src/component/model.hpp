// A component binary, decoded into plain data: every definition in file order (index
// spaces are built by walking them in order), every type constructor of the binary
// format. Decoding checks syntax and bounds only; meaning (index validity, type matching)
// is checked where the model is used. Reference: component-model design/mvp/Binary.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace gyre::component {

// A slice of the decoded buffer, by absolute offset; the caller keeps the bytes.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// ---- core definitions -------------------------------------------------------------

enum class CoreSort : uint8_t {
  kFunc = 0x00,
  kTable = 0x01,
  kMemory = 0x02,
  kGlobal = 0x03,
  kTag = 0x04,
  kType = 0x10,
  kModule = 0x11,
  kInstance = 0x12,
};

// Core value types as raw opcodes (0x7f i32, 0x7e i64, 0x7d f32, 0x7c f64, 0x7b v128,
// 0x70 funcref, 0x6f externref, ...); reference types with a heap type keep its index.
struct CoreValType {
  uint8_t code = 0x7f;
  int64_t heap_type = 0;  // for 0x63/0x64 (ref null ht / ref ht)
  bool operator==(const CoreValType&) const = default;
};

struct CoreFuncType {
  std::vector<CoreValType> params;
  std::vector<CoreValType> results;
};

// GC proposal types (struct, array, rec groups, subtypes) are decoded for their extent
// only: no component Gyre runs uses them in its component-level core type section.
struct CoreGcType {
  ByteRange bytes;
};

struct CoreLimits {
  uint64_t min = 0;
  std::optional<uint64_t> max;
  bool shared = false;
  bool is64 = false;
};

struct CoreExternType {
  CoreSort kind = CoreSort::kFunc;  // func, table, memory, global or tag
  uint32_t type_index = 0;          // func and tag
  CoreValType value_type;           // global type / table element type
  bool mutable_global = false;
  CoreLimits limits;  // table and memory
};

struct CoreImport {
  std::string module;
  std::string name;
  CoreExternType type;
};

struct CoreExportDecl {
  std::string name;
  CoreExternType type;
};

struct CoreOuterAlias {
  uint32_t count = 0;
  uint32_t index = 0;
};

struct CoreType;
using CoreModuleDecl =
    std::variant<CoreImport, std::shared_ptr<CoreType>, CoreOuterAlias, CoreExportDecl>;

struct CoreModuleType {
  std::vector<CoreModuleDecl> decls;
};

struct CoreType {
  std::variant<CoreFuncType, CoreGcType, CoreModuleType> type;
};

struct CoreSortIndex {
  CoreSort sort = CoreSort::kFunc;
  uint32_t index = 0;
};

struct CoreInstantiateArg {
  std::string name;
  uint32_t instance = 0;
};

struct CoreInstantiate {
  uint32_t module = 0;
  std::vector<CoreInstantiateArg> args;
};

struct CoreInlineExport {
  std::string name;
  CoreSortIndex item;
};

struct CoreInstance {
  std::variant<CoreInstantiate, std::vector<CoreInlineExport>> expr;
};

// ---- component types --------------------------------------------------------------

enum class PrimType : uint8_t {
  kBool,
  kS8,
  kU8,
  kS16,
  kU16,
  kS32,
  kU32,
  kS64,
  kU64,
  kF32,
  kF64,
  kChar,
  kString,
  kErrorContext,
};

// A value type as written at a use site: a primitive, or an index into the type space.
struct ValType {
  static ValType prim(PrimType p) { return ValType{true, p, 0}; }
  static ValType index(uint32_t i) { return ValType{false, PrimType::kBool, i}; }

  bool is_prim = true;
  PrimType primitive = PrimType::kBool;
  uint32_t type_index = 0;
  bool operator==(const ValType&) const = default;
};

struct LabeledType {
  std::string label;
  ValType type;
};

struct RecordType {
  std::vector<LabeledType> fields;
};
struct VariantCase {
  std::string label;
  std::optional<ValType> type;
};
struct VariantType {
  std::vector<VariantCase> cases;
};
struct ListType {
  ValType element;
  std::optional<uint32_t> fixed_length;  // fixed-length lists (0x67)
};
struct TupleType {
  std::vector<ValType> elements;
};
struct FlagsType {
  std::vector<std::string> labels;
};
struct EnumType {
  std::vector<std::string> labels;
};
struct OptionType {
  ValType payload;
};
struct ResultType {
  std::optional<ValType> ok;
  std::optional<ValType> error;
};
struct OwnType {
  uint32_t resource = 0;
};
struct BorrowType {
  uint32_t resource = 0;
};
struct StreamType {
  std::optional<ValType> element;
};
struct FutureType {
  std::optional<ValType> element;
};
struct MapType {
  ValType key;
  ValType value;
};

using DefValType =
    std::variant<PrimType, RecordType, VariantType, ListType, TupleType, FlagsType, EnumType,
                 OptionType, ResultType, OwnType, BorrowType, StreamType, FutureType, MapType>;

struct FuncType {
  bool async = false;
  std::vector<LabeledType> params;
  std::optional<ValType> result;
};

struct ResourceType {
  CoreValType representation;          // validation requires i32
  std::optional<uint32_t> destructor;  // core func index
};

enum class ExternKind : uint8_t {
  kCoreModule,
  kFunc,
  kValue,
  kType,
  kComponent,
  kInstance,
};

// The type of an import or export: `(func (type i))`, `(type (eq i))`, `(type (sub
// resource))`, `(value t)`, and so on.
struct ExternType {
  ExternKind kind = ExternKind::kFunc;
  uint32_t type_index = 0;    // module, func, component, instance; type (eq i); value (eq i)
  bool sub_resource = false;  // type bound `(sub resource)`
  std::optional<ValType> value_type;  // value bound given as a type
};

// A name with its attributes (implements, version suffix, external id).
struct ExternName {
  std::string name;
  std::optional<std::string> implements;
  std::optional<std::string> version_suffix;
  std::optional<std::string> external_id;
};

enum class Sort : uint8_t {
  kCore,  // with core_sort
  kFunc = 0x01,
  kValue = 0x02,
  kType = 0x03,
  kComponent = 0x04,
  kInstance = 0x05,
};

struct SortRef {
  Sort sort = Sort::kFunc;
  CoreSort core_sort = CoreSort::kFunc;  // when sort == kCore
  bool operator==(const SortRef&) const = default;
};

struct SortIndex {
  SortRef sort;
  uint32_t index = 0;
};

struct AliasExport {
  uint32_t instance = 0;
  std::string name;
};
struct AliasCoreExport {
  uint32_t instance = 0;
  std::string name;
};
struct AliasOuter {
  uint32_t count = 0;
  uint32_t index = 0;
};

struct Alias {
  SortRef sort;
  std::variant<AliasExport, AliasCoreExport, AliasOuter> target;
};

struct ImportDecl {
  ExternName name;
  ExternType type;
};
struct ExportDecl {
  ExternName name;
  ExternType type;
};

struct Type;
// A declarator inside a component or instance type. ImportDecl occurs only in
// component types.
using Decl =
    std::variant<std::shared_ptr<CoreType>, std::shared_ptr<Type>, Alias, ImportDecl, ExportDecl>;

struct ComponentType {
  std::vector<Decl> decls;
};
struct InstanceType {
  std::vector<Decl> decls;
};

struct Type {
  std::variant<DefValType, FuncType, ComponentType, InstanceType, ResourceType> type;
};

// ---- canonical definitions --------------------------------------------------------

enum class StringEncoding : uint8_t { kUtf8, kUtf16, kLatin1Utf16 };

struct CanonOptions {
  StringEncoding string_encoding = StringEncoding::kUtf8;
  std::optional<uint32_t> memory;       // core memory index
  std::optional<uint32_t> realloc;      // core func index
  std::optional<uint32_t> post_return;  // core func index
  bool async = false;
  std::optional<uint32_t> callback;  // core func index
};

struct CanonLift {
  uint32_t core_func = 0;
  CanonOptions options;
  uint32_t type = 0;
};
struct CanonLower {
  uint32_t func = 0;
  CanonOptions options;
};
struct CanonResourceNew {
  uint32_t resource = 0;
};
struct CanonResourceDrop {
  uint32_t resource = 0;
};
struct CanonResourceRep {
  uint32_t resource = 0;
};

// The async, stream, future, error-context, waitable and thread built-ins: decoded so
// that a component using them can be inspected; instantiating one is "not supported
// yet" until component-model async lands.
struct CanonBuiltin {
  uint8_t opcode = 0;
  std::optional<uint32_t> type;          // typeidx, or core typeidx for thread.new
  std::optional<uint32_t> second;        // context index, table index, memory index
  std::optional<CoreValType> core_type;  // context.get / context.set
  std::vector<ValType> results;          // task.return
  std::optional<ValType> result;         // task.return result
  CanonOptions options;
  bool flag = false;  // async? / cancel? / shared?
};

using Canon = std::variant<CanonLift, CanonLower, CanonResourceNew, CanonResourceDrop,
                           CanonResourceRep, CanonBuiltin>;

// ---- component-level definitions ---------------------------------------------------

struct InstantiateArg {
  std::string name;
  SortIndex item;
};
struct Instantiate {
  uint32_t component = 0;
  std::vector<InstantiateArg> args;
};
struct InlineExport {
  ExternName name;
  SortIndex item;
};
struct Instance {
  std::variant<Instantiate, std::vector<InlineExport>> expr;
};

struct Start {
  uint32_t func = 0;
  std::vector<uint32_t> args;  // value indices
  uint32_t results = 0;
};

struct Import {
  ExternName name;
  ExternType type;
};

struct Export {
  ExternName name;
  SortIndex item;
  std::optional<ExternType> type;  // an ascribed type
};

struct Value {
  ValType type;
  ByteRange bytes;
};

struct CustomSection {
  std::string name;
  ByteRange payload;
};

struct CoreModule {
  ByteRange bytes;  // a whole core module binary, preamble included
};

struct Component;

// One definition, in file order. Each adds to an index space as the explainer says.
using Definition =
    std::variant<CoreModule, CoreInstance, std::shared_ptr<CoreType>, std::shared_ptr<Component>,
                 Instance, Alias, std::shared_ptr<Type>, Canon, Start, Import, Export, Value>;

struct Component {
  std::vector<Definition> definitions;
  std::vector<CustomSection> custom_sections;
  ByteRange bytes;  // the whole component, preamble included
};

}  // namespace gyre::component
