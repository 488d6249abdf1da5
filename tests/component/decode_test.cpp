// The component decoder on real SDK output, on hand-written components covering every
// type constructor (assembled by wasm-tools, an independent implementation), and on
// malformed input, where every failure must name a byte offset.
#include "component/decode.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "support/process.hpp"

namespace gyre::component {
namespace {

using gyre::testing::assemble;
using gyre::testing::fixture_path;
using gyre::testing::read_file;

template <class T>
std::vector<const T*> all(const Component& c) {
  std::vector<const T*> out;
  for (const Definition& d : c.definitions) {
    if (auto* p = std::get_if<T>(&d)) out.push_back(p);
  }
  return out;
}

std::vector<std::string> import_names(const Component& c) {
  std::vector<std::string> out;
  for (auto* i : all<Import>(c))
    out.push_back(i->name.name);
  return out;
}

std::vector<std::string> export_names(const Component& c) {
  std::vector<std::string> out;
  for (auto* e : all<Export>(c))
    out.push_back(e->name.name);
  return out;
}

Component decode_ok(const std::vector<uint8_t>& bytes) {
  auto result = decode(bytes);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().describe());
  return result.ok() ? std::move(result).value() : Component{};
}

DecodeError decode_error(const std::vector<uint8_t>& bytes) {
  auto result = decode(bytes);
  EXPECT_FALSE(result.ok());
  return result.ok() ? DecodeError{} : result.error();
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Decode, CFixture) {
  const auto bytes = read_file(fixture_path("c-hello"));
  EXPECT_EQ(sniff(bytes), BinaryKind::kComponent);
  Component c = decode_ok(bytes);
  EXPECT_TRUE(contains(import_names(c), "gyre:fixtures/host"));
  EXPECT_TRUE(contains(export_names(c), "greet"));
  EXPECT_FALSE(all<CoreModule>(c).empty());
  // Each core module range holds a core module binary.
  for (auto* m : all<CoreModule>(c)) {
    ASSERT_LE(m->bytes.offset + m->bytes.size, bytes.size());
    std::span<const uint8_t> module(bytes.data() + m->bytes.offset, m->bytes.size);
    EXPECT_EQ(sniff(module), BinaryKind::kCoreModule);
  }
  // The string-taking export is lifted with memory and realloc.
  bool lifted = false;
  for (auto* canon : all<Canon>(c)) {
    if (auto* lift = std::get_if<CanonLift>(canon)) {
      lifted = true;
      EXPECT_TRUE(lift->options.memory.has_value());
      EXPECT_TRUE(lift->options.realloc.has_value());
      EXPECT_EQ(lift->options.string_encoding, StringEncoding::kUtf8);
    }
  }
  EXPECT_TRUE(lifted);
}

TEST(Decode, JavaScriptFixture) {
  Component c = decode_ok(read_file(fixture_path("js-hello")));
  EXPECT_TRUE(contains(export_names(c), "wasi:http/incoming-handler@0.2.3"));
  const auto imports = import_names(c);
  EXPECT_TRUE(contains(imports, "wasi:http/types@0.2.3"));
  EXPECT_TRUE(contains(imports, "wasi:io/streams@0.2.12"));
  for (auto* i : all<Import>(c))
    EXPECT_EQ(i->type.kind, ExternKind::kInstance) << i->name.name;
}

TEST(Decode, PythonFixture) {
  Component c = decode_ok(read_file(fixture_path("python-hello")));
  EXPECT_TRUE(contains(export_names(c), "wasi:http/incoming-handler@0.2.0"));
  EXPECT_FALSE(import_names(c).empty());
}

// One of everything the binary format has, so that each decoding path runs at least once.
constexpr const char* kEveryType = R"((component
  (type $r (record (field "a" u8) (field "b" string)))
  (type $v (variant (case "none") (case "some" $r)))
  (type $l (list u32))
  (type $fl (list u8 4))
  (type $t (tuple s8 s16 s32 s64 u16 u64))
  (type $f (flags "x" "y" "z"))
  (type $e (enum "up" "down"))
  (type $o (option f32))
  (type $res (result f64 (error char)))
  (type $res2 (result))
  (type $b bool)
  (type $res-type (resource (rep i32)))
  (type $own (own $res-type))
  (type $borrow (borrow $res-type))
  (type $s (stream u8))
  (type $fu (future))
  (type $fn (func (param "x" $r) (param "y" $borrow) (result $v)))
  (type $async-fn (func async (param "x" u32)))
  (type $inst (instance
    (export "res" (type (sub resource)))
    (type $t2 (record (field "q" u32)))
    (export "t2" (type (eq $t2)))
    (export "f" (func (param "p" u32) (result u32)))
  ))
  (type $comp (component
    (import "i" (instance (type $inst)))
    (export "e" (func (type $fn)))
  ))
  (import "host" (instance $host (type $inst)))
  (alias export $host "f" (func $host-f))
  (core module $m
    (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0)
    (func (export "id") (param i32) (result i32) local.get 0)
    (func (export "post") (param i32))
    (func (export "dtor") (param i32)))
  (core instance $mi (instantiate $m))
  (alias core export $mi "mem" (core memory $mem))
  (alias core export $mi "realloc" (core func $realloc))
  (alias core export $mi "dtor" (core func $dtor))
  (core func $lowered (canon lower (func $host-f)))
  (core instance $inline (export "lowered" (func $lowered)))
  (type $res-with-dtor (resource (rep i32) (dtor (core func $dtor))))
  (core func $rnew (canon resource.new $res-with-dtor))
  (core func $rdrop (canon resource.drop $res-with-dtor))
  (core func $rrep (canon resource.rep $res-with-dtor))
  (func $id (param "x" u32) (result u32)
    (canon lift (core func $mi "id") (memory $mem) (realloc $realloc)
      string-encoding=utf16 (post-return (core func $mi "post"))))
  (export "id" (func $id))
  (component $inner
    (import "x" (func $x (param "x" u32) (result u32)))
    (export "y" (func $x)))
  (instance $inner-inst (instantiate $inner (with "x" (func $id))))
  (instance $bag (export "one" (func $id)))
  (export "bag" (instance $bag))
))";

TEST(Decode, EveryTypeConstructorAndDefinitionKind) {
  Component c = decode_ok(assemble(kEveryType));
  std::vector<DefValType> values;
  int funcs = 0, resources = 0, instance_types = 0, component_types = 0;
  for (auto* t : all<std::shared_ptr<Type>>(c)) {
    if (auto* v = std::get_if<DefValType>(&(*t)->type)) values.push_back(*v);
    if (std::holds_alternative<FuncType>((*t)->type)) ++funcs;
    if (std::holds_alternative<ResourceType>((*t)->type)) ++resources;
    if (std::holds_alternative<InstanceType>((*t)->type)) ++instance_types;
    if (std::holds_alternative<ComponentType>((*t)->type)) ++component_types;
  }
  auto count = [&](auto probe) {
    return std::count_if(values.begin(), values.end(), [&](const DefValType& v) {
      return std::holds_alternative<decltype(probe)>(v);
    });
  };
  EXPECT_EQ(count(RecordType{}), 1);
  EXPECT_EQ(count(VariantType{}), 1);
  EXPECT_EQ(count(ListType{}), 2);
  EXPECT_EQ(count(TupleType{}), 1);
  EXPECT_EQ(count(FlagsType{}), 1);
  EXPECT_EQ(count(EnumType{}), 1);
  EXPECT_EQ(count(OptionType{}), 1);
  EXPECT_EQ(count(ResultType{}), 2);
  EXPECT_EQ(count(OwnType{}), 1);
  EXPECT_EQ(count(BorrowType{}), 1);
  EXPECT_EQ(count(StreamType{}), 1);
  EXPECT_EQ(count(FutureType{}), 1);
  EXPECT_EQ(count(PrimType{}), 1);
  EXPECT_EQ(resources, 2);
  EXPECT_GE(instance_types, 1);
  EXPECT_GE(component_types, 1);
  EXPECT_GE(funcs, 2);

  // Field by field on a few of them.
  for (const DefValType& v : values) {
    if (auto* r = std::get_if<RecordType>(&v)) {
      ASSERT_EQ(r->fields.size(), 2u);
      EXPECT_EQ(r->fields[0].label, "a");
      EXPECT_EQ(r->fields[0].type, ValType::prim(PrimType::kU8));
      EXPECT_EQ(r->fields[1].type, ValType::prim(PrimType::kString));
    }
    if (auto* l = std::get_if<ListType>(&v); l && l->fixed_length) {
      EXPECT_EQ(*l->fixed_length, 4u);
      EXPECT_EQ(l->element, ValType::prim(PrimType::kU8));
    }
    if (auto* f = std::get_if<FlagsType>(&v)) {
      EXPECT_EQ(f->labels, (std::vector<std::string>{"x", "y", "z"}));
    }
    if (auto* r = std::get_if<ResultType>(&v); r && r->ok) {
      EXPECT_EQ(*r->ok, ValType::prim(PrimType::kF64));
      EXPECT_EQ(*r->error, ValType::prim(PrimType::kChar));
    }
  }

  bool async_func = false;
  for (auto* t : all<std::shared_ptr<Type>>(c)) {
    if (auto* f = std::get_if<FuncType>(&(*t)->type); f && f->async) async_func = true;
  }
  EXPECT_TRUE(async_func);

  int lifts = 0, lowers = 0, news = 0, drops = 0, reps = 0;
  for (auto* canon : all<Canon>(c)) {
    if (auto* lift = std::get_if<CanonLift>(canon)) {
      ++lifts;
      EXPECT_EQ(lift->options.string_encoding, StringEncoding::kUtf16);
      EXPECT_TRUE(lift->options.post_return.has_value());
    }
    lowers += std::holds_alternative<CanonLower>(*canon);
    news += std::holds_alternative<CanonResourceNew>(*canon);
    drops += std::holds_alternative<CanonResourceDrop>(*canon);
    reps += std::holds_alternative<CanonResourceRep>(*canon);
  }
  EXPECT_EQ(lifts, 1);
  EXPECT_EQ(lowers, 1);
  EXPECT_EQ(news, 1);
  EXPECT_EQ(drops, 1);
  EXPECT_EQ(reps, 1);

  EXPECT_EQ(all<std::shared_ptr<Component>>(c).size(), 1u);
  EXPECT_EQ(all<Instance>(c).size(), 2u);
  EXPECT_EQ(all<CoreInstance>(c).size(), 2u);
  EXPECT_GE(all<Alias>(c).size(), 4u);
  EXPECT_EQ(export_names(c), (std::vector<std::string>{"id", "bag"}));
}

TEST(Decode, ThirtyTwoFlagsAreTheMostAndThirtyThreeAreRejected) {
  std::string labels;
  for (int i = 0; i < 32; ++i)
    labels += " \"f" + std::to_string(i) + "\"";
  Component ok = decode_ok(assemble("(component (type (flags" + labels + ")))"));
  auto* t = all<std::shared_ptr<Type>>(ok).at(0);
  EXPECT_EQ(std::get<FlagsType>(std::get<DefValType>((*t)->type)).labels.size(), 32u);

  // wasm-tools will not write 33 flags, so the test writes them: bump the count byte
  // and append one more label.
  std::vector<uint8_t> bytes = assemble("(component (type (flags" + labels + ")))");
  const uint8_t flags_32[] = {0x6e, 32};
  auto at = std::search(bytes.begin(), bytes.end(), std::begin(flags_32), std::end(flags_32));
  ASSERT_NE(at, bytes.end());
  const size_t flags_offset = at - bytes.begin();
  bytes[flags_offset + 1] = 33;
  const std::vector<uint8_t> extra{0x03, 'f', '3', '2'};
  bytes.insert(bytes.end(), extra.begin(), extra.end());
  bytes[9] += extra.size();  // the type section's size (one byte while under 128)
  ASSERT_LT(bytes[9], 0x80);
  DecodeError error = decode_error(bytes);
  EXPECT_EQ(error.offset, flags_offset);
  EXPECT_NE(error.message.find("1 to 32"), std::string::npos) << error.describe();
}

TEST(DecodeErrors, NotWasmAndCoreModulesAreNamed) {
  DecodeError bad_magic = decode_error({'h', 'e', 'l', 'l', 'o', 0, 0, 0});
  EXPECT_EQ(bad_magic.offset, 0u);
  EXPECT_NE(bad_magic.message.find("magic"), std::string::npos);

  DecodeError core = decode_error({0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00});
  EXPECT_NE(core.message.find("core WebAssembly module"), std::string::npos) << core.describe();

  DecodeError version = decode_error({0x00, 0x61, 0x73, 0x6d, 0x0a, 0x00, 0x01, 0x00});
  EXPECT_EQ(version.offset, 4u);
  EXPECT_NE(version.message.find("version"), std::string::npos);

  DecodeError empty = decode_error({});
  EXPECT_EQ(empty.offset, 0u);
  EXPECT_NE(empty.describe().find("at byte offset 0x0 (0)"), std::string::npos);
}

const std::vector<uint8_t> kPreamble{0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00};

std::vector<uint8_t> with_preamble(std::vector<uint8_t> body) {
  std::vector<uint8_t> bytes = kPreamble;
  bytes.insert(bytes.end(), body.begin(), body.end());
  return bytes;
}

TEST(DecodeErrors, SectionRunningPastTheEnd) {
  DecodeError e = decode_error(with_preamble({0x07, 0x40, 0x01}));
  EXPECT_EQ(e.offset, 10u);
  EXPECT_NE(e.message.find("runs past the end"), std::string::npos) << e.describe();
}

TEST(DecodeErrors, UnknownSectionAndTypeOpcode) {
  DecodeError section = decode_error(with_preamble({0x0e, 0x00}));
  EXPECT_EQ(section.offset, 8u);
  EXPECT_NE(section.message.find("section id 14"), std::string::npos) << section.describe();

  DecodeError opcode = decode_error(with_preamble({0x07, 0x02, 0x01, 0x5a}));
  EXPECT_EQ(opcode.offset, 11u);
  EXPECT_NE(opcode.message.find("invalid type opcode 0x5a"), std::string::npos)
      << opcode.describe();
}

TEST(DecodeErrors, HugeVectorLengthIsRefusedBeforeAllocating) {
  // A type section claiming 2^32-1 types in a five-byte body.
  DecodeError e = decode_error(with_preamble({0x07, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f}));
  EXPECT_EQ(e.offset, 10u);
  EXPECT_NE(e.message.find("exceeds the remaining"), std::string::npos) << e.describe();
}

TEST(DecodeErrors, OverlongLeb128) {
  DecodeError e = decode_error(with_preamble({0x07, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}));
  EXPECT_EQ(e.offset, 9u);
  EXPECT_NE(e.message.find("too long"), std::string::npos) << e.describe();
}

TEST(DecodeErrors, InvalidUtf8Name) {
  // An import named "\xff".
  DecodeError e = decode_error(with_preamble({0x0a, 0x06, 0x01, 0x00, 0x01, 0xff, 0x01, 0x00}));
  EXPECT_EQ(e.offset, 13u);
  EXPECT_NE(e.message.find("UTF-8"), std::string::npos) << e.describe();
}

TEST(DecodeErrors, TrailingBytesInASection) {
  // One type (bool) and a stray byte.
  DecodeError e = decode_error(with_preamble({0x07, 0x03, 0x01, 0x7f, 0x7f}));
  EXPECT_EQ(e.offset, 12u);
  EXPECT_NE(e.message.find("unread bytes"), std::string::npos) << e.describe();
}

TEST(DecodeErrors, DeepNestingIsRefused) {
  std::string text = "(component";
  for (int i = 0; i < 80; ++i)
    text += " (component";
  text += std::string(81, ')');
  DecodeError e = decode_error(assemble(text));
  EXPECT_NE(e.message.find("nested too deeply"), std::string::npos) << e.describe();
}

// Where the top-level sections of a component start: the only places a truncated
// component is still a (smaller) valid one.
std::vector<size_t> section_starts(const std::vector<uint8_t>& bytes) {
  std::vector<size_t> starts;
  size_t pos = 8;
  while (pos < bytes.size()) {
    starts.push_back(pos);
    size_t size = 0, shift = 0, at = pos + 1;
    for (uint8_t b = 0x80; b & 0x80; shift += 7)
      size |= size_t((b = bytes[at++]) & 0x7f) << shift;
    pos = at + size;
  }
  starts.push_back(bytes.size());
  return starts;
}

TEST(DecodeErrors, EveryTruncationOfARealComponentFailsCleanly) {
  const auto bytes = read_file(fixture_path("c-hello"));
  ASSERT_GT(bytes.size(), 1000u);
  const auto boundaries = section_starts(bytes);
  // Every prefix up to the first kilobyte, then a spread over the rest.
  for (size_t cut = 0; cut < bytes.size(); cut += (cut < 1024 ? 1 : 97)) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + cut);
    auto result = decode(prefix);
    const bool boundary = std::count(boundaries.begin(), boundaries.end(), cut) > 0;
    ASSERT_EQ(result.ok(), boundary) << "truncation at " << cut;
    if (!result.ok()) {
      EXPECT_LE(result.error().offset, cut) << result.error().describe();
    }
  }
}

TEST(DecodeErrors, CorruptedBytesNeverCrash) {
  const auto bytes = read_file(fixture_path("c-hello"));
  // Flip every byte of the component's own sections (not the embedded core module's
  // code, which is opaque here) to a few values; decoding either succeeds or names an
  // offset inside the input.
  const size_t limit = std::min<size_t>(bytes.size(), 4096);
  for (size_t i = 8; i < limit; ++i) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::vector<uint8_t> copy = bytes;
      copy[i] = value;
      auto result = decode(copy);
      if (!result.ok()) {
        EXPECT_LE(result.error().offset, copy.size());
      }
    }
  }
}

}  // namespace
}  // namespace gyre::component
