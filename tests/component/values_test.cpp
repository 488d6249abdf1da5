// Every component value type crossing between the host and a real C guest (the c-values
// fixture), in both directions: the host calls the guest's echo-* exports (lowering
// host values into guest memory, lifting the results back), and the guest's call-host-*
// exports pass the value through the host's echo-* imports (lifting guest values for the
// host, lowering the host's results into guest memory through realloc). Also spilled
// parameters, results by return pointer, guest and host resources, a host that returns
// malformed values, and a guest whose strings are UTF-16 (c-values16).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "component/instance.hpp"
#include "support/engine.hpp"
#include "support/process.hpp"
#include "wasm/engine.hpp"
#include "wasm/store.hpp"

namespace gyre::component {
namespace {

using gyre::testing::fixture_path;
using gyre::testing::read_file;
using HostResult = Result<std::optional<Val>, std::string>;
using CallResult = Result<std::optional<Val>, wasm::Error>;

constexpr uint32_t kBlobBase = 1000;  // the host's blob reps are kBlobBase + tag

std::unique_ptr<wasm::Engine> engine() {
  return gyre::testing::test_engine(64);
}

const char* kind_name(ValueKind kind) {
  static const char* const names[] = {
      "bool",  "s8",   "u8",     "s16",    "u16",           "s32",    "u32",     "s64",    "u64",
      "f32",   "f64",  "char",   "string", "error-context", "record", "variant", "list",   "tuple",
      "flags", "enum", "option", "result", "own",           "borrow", "stream",  "future", "map"};
  return names[static_cast<size_t>(kind)];
}

std::string hex(uint64_t v) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%llx", static_cast<unsigned long long>(v));
  return buffer;
}

// Every field of a Val, exactly (floats by their bits, bytes escaped), so that comparing
// two renderings compares the values field by field, NaN and negative zero included.
std::string show(const Val& v) {
  std::string out = kind_name(v.kind);
  out += "{";
  if (v.bits != 0) out += " bits=" + hex(v.bits);
  const auto number_bits = std::bit_cast<uint64_t>(v.number);
  if (v.kind == ValueKind::kF32 || v.kind == ValueKind::kF64 || number_bits != 0) {
    out += " number=" + hex(number_bits);
  }
  if (!v.bytes.empty()) {
    out += " bytes=\"";
    for (unsigned char c : v.bytes) {
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        out += static_cast<char>(c);
      } else {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
        out += escaped;
      }
    }
    out += "\"";
  }
  if (!v.items.empty()) {
    out += " [";
    for (size_t i = 0; i < v.items.size(); ++i) {
      out += (i == 0 ? "" : ", ") + show(v.items[i]);
    }
    out += "]";
  }
  return out + " }";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A value no check accepts, for a call that failed (the failure is already reported).
Val failed_call() {
  Val v;
  v.kind = ValueKind::kErrorContext;
  v.bytes = "<the call failed>";
  return v;
}

// Deterministic bytes with every value 0..255 in them, zeros included.
std::string pattern_bytes(size_t size) {
  std::string out(size, '\0');
  uint32_t state = 0x12345678;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1664525u + 1013904223u;
    out[i] = static_cast<char>(i % 3 == 0 ? i & 0xff : state >> 24);
  }
  return out;
}

Val person(std::string name, uint8_t age, double score, std::optional<std::string> nickname,
           std::vector<std::string> tags, int64_t id) {
  std::vector<Val> tag_vals;
  for (auto& t : tags)
    tag_vals.push_back(Val::string(std::move(t)));
  return Val::record({Val::string(std::move(name)), Val::u8(age), Val::f64(score),
                      nickname ? Val::some(Val::string(*nickname)) : Val::none(),
                      Val::list(std::move(tag_vals)), Val::s64(id)});
}

std::vector<Val> spill_args() {
  return {Val::s8(-128),
          Val::u8(255),
          Val::s16(-32768),
          Val::u16(65535),
          Val::s32(std::numeric_limits<int32_t>::min()),
          Val::u32(0xffffffffu),
          Val::s64(std::numeric_limits<int64_t>::min()),
          Val::u64(std::numeric_limits<uint64_t>::max()),
          Val::f32(-0.0f),
          Val::f64(1e300),
          Val::character(U'\U0001F600'),
          Val::boolean(true),
          Val::string("sp\xc3\xa9ll"),
          Val::byte_list(std::string("\x00\x01\xfe\xff", 4)),
          Val::some(Val::u32(77)),
          Val::enumeration(4),
          Val::flags(0x80000001u)};
}

// Instantiates a C fixture against a host whose echo-* imports return their argument and
// remember it in `seen_`, whose blobs are tagged reps, and whose blob drops are recorded.
class Values : public ::testing::Test {
 protected:
  Values() : Values("gyre:fixtures/values-host", "gyre:fixtures/values-guest") {}
  Values(std::string host_interface, std::string guest_interface)
      : engine_(engine()),
        host_interface_(std::move(host_interface)),
        guest_(std::move(guest_interface)) {
    for (const char* type :
         {"bool",    "s8",          "u8",     "s16",   "u16",    "s32",    "u32",
          "s64",     "u64",         "f32",    "f64",   "char",   "string", "bytes",
          "strings", "person",      "pair",   "shape", "color",  "perms",  "option",
          "result",  "unit-result", "nested", "num",   "labeled"}) {
      host_function(std::string("echo-") + type,
                    [this](HostCall&, std::span<const Val> args) -> HostResult {
                      seen_.assign(args.begin(), args.end());
                      return std::optional<Val>(args[0]);
                    });
    }
    host_function("spill", [this](HostCall&, std::span<const Val> args) -> HostResult {
      seen_.assign(args.begin(), args.end());
      return std::optional<Val>(Val::record(seen_));
    });
    host_function("make-blob", [](HostCall&, std::span<const Val> args) -> HostResult {
      return std::optional<Val>(Val::own(kBlobBase + static_cast<uint32_t>(args[0].bits)));
    });
    host_function("blob-tag", [this](HostCall&, std::span<const Val> args) -> HostResult {
      seen_.assign(args.begin(), args.end());
      return std::optional<Val>(Val::u32(static_cast<uint32_t>(args[0].bits) - kBlobBase));
    });
    host_.interface(host_interface_).resource_drops["blob"] = [this](HostCall&, uint32_t rep) {
      dropped_.push_back(rep);
    };
  }

  void host_function(const std::string& name, HostFunction function) {
    host_.interface(host_interface_).functions[name] = std::move(function);
  }

  // A host import that returns `result` whatever it is given.
  void host_returns(const std::string& name, Val result) {
    host_function(name, [result](HostCall&, std::span<const Val>) -> HostResult {
      return std::optional<Val>(result);
    });
  }

  void start(const std::string& fixture = "c-values") {
    auto pre = ComponentPre::create(*engine_, read_file(fixture_path(fixture)), host_);
    ASSERT_TRUE(pre.ok()) << pre.error();
    pre_ = *pre;
    ASSERT_NO_FATAL_FAILURE(reinstantiate());
  }

  // A fresh instance in a fresh store (after a call that must fail poisoned the last).
  void reinstantiate() {
    instance_.reset();
    store_ = std::make_unique<wasm::Store>(*engine_);
    auto instance = pre_->instantiate(*store_);
    ASSERT_TRUE(instance.ok()) << instance.error().describe();
    instance_ = std::move(instance).value();
  }

  CallResult call(const std::string& name, std::vector<Val> args) {
    const ComponentFunction* fn = instance_->function(guest_, name);
    if (fn == nullptr) return wasm::Error(wasm::ErrorKind::kUsage, "no export " + name);
    return instance_->call(*fn, args);
  }

  // What a call that must succeed returned.
  Val value(const std::string& name, std::vector<Val> args) {
    CallResult result = call(name, std::move(args));
    if (!result.ok()) {
      ADD_FAILURE() << name << " failed: " << result.error().describe();
      return failed_call();
    }
    if (!result->has_value()) {
      ADD_FAILURE() << name << " returned no value";
      return failed_call();
    }
    return std::move(**result);
  }

  // The message of a call that must fail; the instance must then refuse further calls.
  std::string failure(const std::string& name, std::vector<Val> args) {
    CallResult result = call(name, args);
    if (result.ok()) {
      ADD_FAILURE() << name << " succeeded where it must fail";
      return "<no error>";
    }
    EXPECT_EQ(result.error().kind(), wasm::ErrorKind::kTrap) << result.error().describe();
    CallResult again = call(name, std::move(args));
    EXPECT_FALSE(again.ok()) << "a trapped instance accepted another call";
    if (!again.ok()) {
      EXPECT_EQ(again.error().kind(), wasm::ErrorKind::kUsage);
    }
    return result.error().message();
  }

  // `v` comes back unchanged from echo-<type> (host -> guest -> host) and from
  // call-host-<type> (host -> guest -> host import -> guest -> host), and the host import
  // saw exactly `v`.
  void expect_round_trip(const std::string& type, const Val& v) { expect_round_trip(type, v, v); }
  void expect_round_trip(const std::string& type, const Val& v, const Val& expected) {
    SCOPED_TRACE(type + " " + show(v));
    EXPECT_EQ(show(value("echo-" + type, {v})), show(expected));
    seen_.clear();
    EXPECT_EQ(show(value("call-host-" + type, {v})), show(expected));
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(show(seen_[0]), show(expected));
  }

  // Destroyed in reverse order of declaration: the instance before its store, the
  // component before the host it links against, all before the engine.
  std::unique_ptr<wasm::Engine> engine_;
  std::string host_interface_;
  std::string guest_;
  HostImports host_;
  std::vector<Val> seen_;          // the arguments of the last host import called
  std::vector<uint32_t> dropped_;  // reps of blobs the guest dropped, in order
  std::shared_ptr<const ComponentPre> pre_;
  std::unique_ptr<wasm::Store> store_;
  std::unique_ptr<ComponentInstance> instance_;
};

// ---- scalars --------------------------------------------------------------------------

TEST_F(Values, BoolsAndIntegersRoundTripAtTheirExtremes) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (bool b : {false, true})
    expect_round_trip("bool", Val::boolean(b));
  for (int8_t v : {int8_t{-128}, int8_t{-1}, int8_t{0}, int8_t{1}, int8_t{127}})
    expect_round_trip("s8", Val::s8(v));
  for (uint8_t v : {uint8_t{0}, uint8_t{1}, uint8_t{128}, uint8_t{255}})
    expect_round_trip("u8", Val::u8(v));
  for (int16_t v : {int16_t{-32768}, int16_t{-1}, int16_t{0}, int16_t{32767}})
    expect_round_trip("s16", Val::s16(v));
  for (uint16_t v : {uint16_t{0}, uint16_t{32768}, uint16_t{65535}})
    expect_round_trip("u16", Val::u16(v));
  for (int32_t v :
       {std::numeric_limits<int32_t>::min(), -1, 0, std::numeric_limits<int32_t>::max()})
    expect_round_trip("s32", Val::s32(v));
  for (uint32_t v : {0u, 0x80000000u, 0xffffffffu})
    expect_round_trip("u32", Val::u32(v));
  for (int64_t v : {std::numeric_limits<int64_t>::min(), int64_t{-1}, int64_t{0},
                    std::numeric_limits<int64_t>::max()})
    expect_round_trip("s64", Val::s64(v));
  for (uint64_t v : {uint64_t{0}, uint64_t{1} << 63, std::numeric_limits<uint64_t>::max()})
    expect_round_trip("u64", Val::u64(v));
}

TEST_F(Values, SignedIntegersComeBackSignExtended) {
  ASSERT_NO_FATAL_FAILURE(start());
  // What a host reads through as_signed(), not just the same bits.
  EXPECT_EQ(value("echo-s8", {Val::s8(-128)}).as_signed(), -128);
  EXPECT_EQ(value("call-host-s16", {Val::s16(-2)}).as_signed(), -2);
  EXPECT_EQ(value("echo-s32", {Val::s32(-7)}).as_signed(), -7);
  EXPECT_EQ(value("call-host-s64", {Val::s64(std::numeric_limits<int64_t>::min())}).as_signed(),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(value("echo-u8", {Val::u8(200)}).bits, 200u);
  EXPECT_EQ(value("call-host-u32", {Val::u32(0xfffffffeu)}).bits, 0xfffffffeu);
}

TEST_F(Values, FloatsKeepNegativeZeroInfinitiesAndExtremes) {
  ASSERT_NO_FATAL_FAILURE(start());
  using F = std::numeric_limits<float>;
  using D = std::numeric_limits<double>;
  for (float f : {0.0f, -0.0f, 1.5f, -3.25f, F::infinity(), -F::infinity(), F::max(), F::lowest(),
                  F::min(), F::denorm_min()}) {
    expect_round_trip("f32", Val::f32(f));
  }
  for (double d : {0.0, -0.0, 0.1, -1e-300, D::infinity(), -D::infinity(), D::max(), D::lowest(),
                   D::min(), D::denorm_min()}) {
    expect_round_trip("f64", Val::f64(d));
  }
  const Val negative_zero = value("echo-f64", {Val::f64(-0.0)});
  EXPECT_EQ(negative_zero.number, 0.0);
  EXPECT_TRUE(std::signbit(negative_zero.number));
  const Val negative_zero32 = value("call-host-f32", {Val::f32(-0.0f)});
  EXPECT_TRUE(std::signbit(negative_zero32.number));
}

TEST_F(Values, NaNsComeBackAsTheCanonicalNaN) {
  ASSERT_NO_FATAL_FAILURE(start());
  // Any NaN, whatever its sign and payload, is lifted as the canonical NaN.
  for (uint32_t bits : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xffc12345u}) {
    SCOPED_TRACE(hex(bits));
    const float nan = std::bit_cast<float>(bits);
    for (const char* fn : {"echo-f32", "call-host-f32"}) {
      const Val out = value(fn, {Val::f32(nan)});
      EXPECT_EQ(out.kind, ValueKind::kF32);
      EXPECT_TRUE(std::isnan(out.number));
      EXPECT_EQ(std::bit_cast<uint32_t>(static_cast<float>(out.number)), 0x7fc00000u) << fn;
    }
  }
  for (uint64_t bits : {0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull,
                        0xfff0123456789abcull}) {
    SCOPED_TRACE(hex(bits));
    const double nan = std::bit_cast<double>(bits);
    for (const char* fn : {"echo-f64", "call-host-f64"}) {
      const Val out = value(fn, {Val::f64(nan)});
      EXPECT_EQ(out.kind, ValueKind::kF64);
      EXPECT_EQ(std::bit_cast<uint64_t>(out.number), 0x7ff8000000000000ull) << fn;
    }
  }
}

TEST_F(Values, CharsRoundTripAcrossEveryPlane) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (char32_t c : {U'\0', U'a', U'\u00e9', U'\u20ac', U'\ud7ff', U'\ue000', U'\uffff',
                     U'\U0001F600', U'\U0010FFFF'}) {
    expect_round_trip("char", Val::character(c));
  }
  EXPECT_EQ(value("call-host-char", {Val::character(U'\U0001F600')}).bits, 0x1F600u);
}

// ---- strings and lists ------------------------------------------------------------------

TEST_F(Values, StringsKeepMultiByteUtf8AndTheEmptyString) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string strings[] = {
      "",
      "a",
      "h\xc3\xa9llo w\xc3\xb6rld",              // two-byte sequences
      "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",   // three-byte
      "\xf0\x9f\x98\x80 and \xf4\x8f\xbf\xbf",  // four-byte: U+1F600, U+10FFFF
      std::string("nul\0inside", 10),
      std::string(100000, 'x') + "\xc3\xa9",
  };
  for (const std::string& s : strings) {
    expect_round_trip("string", Val::string(s));
    const Val out = value("echo-string", {Val::string(s)});
    EXPECT_EQ(out.kind, ValueKind::kString);
    EXPECT_EQ(out.bytes.size(), s.size());
    EXPECT_EQ(out.bytes, s);
  }
}

TEST_F(Values, AByteListOverOneMegabyteRoundTripsByteForByte) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string bytes = pattern_bytes((1u << 20) + (1u << 19) + 7);  // 1.5 MB and a bit
  for (const char* fn : {"echo-bytes", "call-host-bytes"}) {
    SCOPED_TRACE(fn);
    seen_.clear();
    const Val out = value(fn, {Val::byte_list(bytes)});
    EXPECT_EQ(out.kind, ValueKind::kList);
    EXPECT_TRUE(out.items.empty()) << "a list<u8> must arrive as bytes, not one Val per byte";
    ASSERT_EQ(out.bytes.size(), bytes.size());
    EXPECT_TRUE(out.bytes == bytes)
        << "first difference at byte "
        << std::mismatch(out.bytes.begin(), out.bytes.end(), bytes.begin()).first -
               out.bytes.begin();
  }
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].bytes.size(), bytes.size());
  EXPECT_TRUE(seen_[0].bytes == bytes) << "the host import saw other bytes";
  expect_round_trip("bytes", Val::byte_list(""));
  expect_round_trip("bytes", Val::byte_list(std::string("\0\xff\x80", 3)));
}

TEST_F(Values, ListsOfStrings) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_round_trip("strings", Val::list({}));
  expect_round_trip("strings",
                    Val::list({Val::string(""), Val::string("one"), Val::string("\xc3\xbc"),
                               Val::string("\xf0\x9f\x98\x80")}));
  std::vector<Val> many;
  for (int i = 0; i < 1000; ++i)
    many.push_back(Val::string(std::string(static_cast<size_t>(i % 17), 'a' + i % 26)));
  expect_round_trip("strings", Val::list(many));
  const Val out = value("echo-strings", {Val::list(many)});
  ASSERT_EQ(out.items.size(), 1000u);
  EXPECT_EQ(out.items[999].bytes, std::string(999 % 17, 'a' + 999 % 26));
}

// ---- records, tuples, variants ------------------------------------------------------------

TEST_F(Values, RecordsRoundTripFieldByField) {
  ASSERT_NO_FATAL_FAILURE(start());
  const Val full = person("Zo\xc3\xab", 255, -0.0, "z\xf0\x9f\x98\x80", {"a", "", "\xe2\x9c\x93"},
                          std::numeric_limits<int64_t>::min());
  const Val sparse = person("", 0, 1e-310, std::nullopt, {}, -1);
  expect_round_trip("person", full);
  expect_round_trip("person", sparse);

  for (const char* fn : {"echo-person", "call-host-person"}) {
    SCOPED_TRACE(fn);
    const Val out = value(fn, {full});
    EXPECT_EQ(out.kind, ValueKind::kRecord);
    ASSERT_EQ(out.items.size(), 6u);
    EXPECT_EQ(out.items[0].bytes, "Zo\xc3\xab");
    EXPECT_EQ(out.items[1].bits, 255u);
    EXPECT_TRUE(std::signbit(out.items[2].number));
    EXPECT_EQ(out.items[3].kind, ValueKind::kOption);
    EXPECT_EQ(out.items[3].bits, 1u);
    ASSERT_NE(out.items[3].payload(), nullptr);
    EXPECT_EQ(out.items[3].payload()->bytes, "z\xf0\x9f\x98\x80");
    ASSERT_EQ(out.items[4].items.size(), 3u);
    EXPECT_EQ(out.items[4].items[0].bytes, "a");
    EXPECT_EQ(out.items[4].items[1].bytes, "");
    EXPECT_EQ(out.items[4].items[2].bytes, "\xe2\x9c\x93");
    EXPECT_EQ(out.items[5].as_signed(), std::numeric_limits<int64_t>::min());
  }
  const Val out = value("call-host-person", {sparse});
  ASSERT_EQ(out.items.size(), 6u);
  EXPECT_EQ(out.items[3].bits, 0u);
  EXPECT_EQ(out.items[3].payload(), nullptr);
  EXPECT_TRUE(out.items[4].items.empty());
}

TEST_F(Values, Tuples) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_round_trip("pair", Val::tuple({Val::u32(0xffffffffu), Val::string("t\xc3\xbcple"),
                                        Val::f32(-2.5f), Val::boolean(true)}));
  expect_round_trip(
      "pair", Val::tuple({Val::u32(0), Val::string(""), Val::f32(0.0f), Val::boolean(false)}));
}

TEST_F(Values, VariantCasesWithAndWithoutPayloads) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_round_trip("shape", Val::variant(0, Val::f32(1.5f)));
  expect_round_trip("shape", Val::variant(0, Val::f32(-std::numeric_limits<float>::infinity())));
  expect_round_trip("shape", Val::variant(1, Val::tuple({Val::u32(3), Val::u32(0xffffffffu)})));
  expect_round_trip("shape", Val::variant(2, Val::string("\xc3\x9f label")));
  expect_round_trip("shape", Val::variant(2, Val::string("")));
  expect_round_trip("shape", Val::variant(3));
  const Val empty = value("call-host-shape", {Val::variant(3)});
  EXPECT_EQ(empty.kind, ValueKind::kVariant);
  EXPECT_EQ(empty.bits, 3u);
  EXPECT_TRUE(empty.items.empty());
  const Val rect = value("echo-shape", {Val::variant(1, Val::tuple({Val::u32(3), Val::u32(4)}))});
  EXPECT_EQ(rect.bits, 1u);
  ASSERT_EQ(rect.items.size(), 1u);
  EXPECT_EQ(show(rect.items[0]), show(Val::tuple({Val::u32(3), Val::u32(4)})));
}

TEST_F(Values, EnumsEveryCase) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (uint32_t i = 0; i < 5; ++i)
    expect_round_trip("color", Val::enumeration(i));
}

TEST_F(Values, ThirtyTwoFlags) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (uint32_t bits : {0u, 0xffffffffu, 0x80000001u, 0xa5a5a5a5u, 0x5a5a5a5au})
    expect_round_trip("perms", Val::flags(bits));
  for (uint32_t i = 0; i < 32; ++i)
    expect_round_trip("perms", Val::flags(1u << i));
  EXPECT_EQ(value("call-host-perms", {Val::flags(0x80000000u)}).bits, 0x80000000u);
}

TEST_F(Values, OptionsAndResults) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_round_trip("option", Val::none());
  expect_round_trip("option", Val::some(Val::string("")));
  expect_round_trip("option", Val::some(Val::string("s\xc3\xb6me")));
  expect_round_trip("result", Val::ok(Val::string("fine \xe2\x9c\x93")));
  expect_round_trip("result", Val::ok(Val::string("")));
  expect_round_trip("result", Val::err(Val::u32(0)));
  expect_round_trip("result", Val::err(Val::u32(0xffffffffu)));
  expect_round_trip("unit-result", Val::ok());
  expect_round_trip("unit-result", Val::err());
  const Val err = value("call-host-result", {Val::err(Val::u32(42))});
  EXPECT_EQ(err.kind, ValueKind::kResult);
  EXPECT_EQ(err.bits, 1u);
  ASSERT_NE(err.payload(), nullptr);
  EXPECT_EQ(err.payload()->bits, 42u);
}

TEST_F(Values, NestedVariantsOfOptionsResultsAndLists) {
  ASSERT_NO_FATAL_FAILURE(start());
  expect_round_trip("nested", Val::variant(0, Val::none()));
  expect_round_trip("nested", Val::variant(0, Val::some(Val::ok(Val::string("deep \xc3\xa9")))));
  expect_round_trip("nested", Val::variant(0, Val::some(Val::ok(Val::string("")))));
  expect_round_trip("nested", Val::variant(0, Val::some(Val::err(Val::u32(0xdeadbeefu)))));
  expect_round_trip("nested", Val::variant(1, Val::list({})));
  expect_round_trip("nested", Val::variant(1, Val::list({Val::some(Val::u8(0)), Val::none(),
                                                         Val::some(Val::u8(255)), Val::none()})));
  expect_round_trip("nested", Val::variant(2));

  const Val out =
      value("call-host-nested", {Val::variant(1, Val::list({Val::none(), Val::some(Val::u8(7))}))});
  EXPECT_EQ(out.bits, 1u);
  ASSERT_EQ(out.items.size(), 1u);
  ASSERT_EQ(out.items[0].items.size(), 2u);
  EXPECT_EQ(out.items[0].items[0].bits, 0u);
  EXPECT_EQ(out.items[0].items[1].bits, 1u);
  EXPECT_EQ(out.items[0].items[1].payload()->bits, 7u);
}

TEST_F(Values, VariantPayloadsOfDifferentCoreTypesShareOneSlot) {
  ASSERT_NO_FATAL_FAILURE(start());
  // f32, f64, u64 and s8 payloads all travel in one joined i64.
  expect_round_trip("num", Val::variant(0, Val::f32(1.5f)));
  expect_round_trip("num", Val::variant(0, Val::f32(-0.0f)));
  expect_round_trip("num", Val::variant(0, Val::f32(-std::numeric_limits<float>::max())));
  expect_round_trip("num", Val::variant(1, Val::f64(-1e300)));
  expect_round_trip("num", Val::variant(1, Val::f64(-0.0)));
  expect_round_trip("num", Val::variant(1, Val::f64(std::numeric_limits<double>::denorm_min())));
  expect_round_trip("num", Val::variant(2, Val::u64(std::numeric_limits<uint64_t>::max())));
  expect_round_trip("num", Val::variant(2, Val::u64(0x8000000000000001ull)));
  expect_round_trip("num", Val::variant(3, Val::s8(-128)));
  expect_round_trip("num", Val::variant(3, Val::s8(-1)));
  expect_round_trip("num", Val::variant(4));
  expect_round_trip("num", Val::variant(0, Val::f32(std::bit_cast<float>(0xffc12345u))),
                    Val::variant(0, Val::f32(std::numeric_limits<float>::quiet_NaN())));
}

// ---- spilled parameters and results by pointer ----------------------------------------------

TEST_F(Values, MoreThanSixteenFlatParametersSpillToMemory) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::vector<Val> args = spill_args();
  ASSERT_EQ(args.size(), 17u);
  // Host -> guest: 20 flat values, passed in memory; the result record by return pointer.
  const Val out = value("spill", args);
  EXPECT_EQ(out.kind, ValueKind::kRecord);
  ASSERT_EQ(out.items.size(), args.size());
  for (size_t i = 0; i < args.size(); ++i)
    EXPECT_EQ(show(out.items[i]), show(args[i])) << "field " << i;

  // Guest -> host: the guest spills its call of the host's spill into memory, and the
  // host's record result is stored through the guest's return pointer.
  seen_.clear();
  const Val through_host = value("call-host-spill", {Val::record(args)});
  ASSERT_EQ(seen_.size(), args.size());
  for (size_t i = 0; i < args.size(); ++i)
    EXPECT_EQ(show(seen_[i]), show(args[i])) << "parameter " << i << " as the host saw it";
  EXPECT_EQ(show(through_host), show(Val::record(args)));
}

TEST_F(Values, WhatTheHostReturnsIsWhatTheGuestGets) {
  // The host answers with other values than it was given, so a guest that got nothing
  // back (or its own argument) would be caught.
  const std::string big = pattern_bytes(1u << 20 | 3);
  std::string flipped = big;
  for (char& c : flipped)
    c = static_cast<char>(c ^ 0x5a);
  const Val other_person = person("\xe5\x90\x8d", 9, 2.5, "nick", {"x", "y"}, 12);
  std::vector<Val> other_spill = spill_args();
  other_spill[12] = Val::string("\xf0\x9f\x98\x80 from the host");
  other_spill[13] = Val::byte_list(big);
  other_spill[14] = Val::none();
  host_returns("echo-string", Val::string("host \xc3\xa9"));
  host_returns("echo-bytes", Val::byte_list(flipped));
  host_returns("echo-person", other_person);
  host_returns("echo-nested", Val::variant(0, Val::some(Val::err(Val::u32(5)))));
  host_returns("echo-u64", Val::u64(0x0123456789abcdefull));
  host_returns("spill", Val::record(other_spill));
  ASSERT_NO_FATAL_FAILURE(start());

  EXPECT_EQ(value("call-host-string", {Val::string("guest")}).bytes, "host \xc3\xa9");
  const Val bytes = value("call-host-bytes", {Val::byte_list(big)});
  EXPECT_EQ(bytes.bytes.size(), flipped.size());
  EXPECT_TRUE(bytes.bytes == flipped);
  EXPECT_EQ(show(value("call-host-person", {person("a", 1, 1, std::nullopt, {}, 1)})),
            show(other_person));
  EXPECT_EQ(show(value("call-host-nested", {Val::variant(2)})),
            show(Val::variant(0, Val::some(Val::err(Val::u32(5))))));
  EXPECT_EQ(value("call-host-u64", {Val::u64(1)}).bits, 0x0123456789abcdefull);
  const Val spilled = value("call-host-spill", {Val::record(spill_args())});
  ASSERT_EQ(spilled.items.size(), other_spill.size());
  EXPECT_EQ(spilled.items[12].bytes, "\xf0\x9f\x98\x80 from the host");
  EXPECT_TRUE(spilled.items[13].bytes == big);
  EXPECT_EQ(show(spilled.items[14]), show(Val::none()));
  EXPECT_EQ(show(spilled), show(Val::record(other_spill)));
}

// ---- resources ------------------------------------------------------------------------------

TEST_F(Values, GuestResourceConstructorAndDestructor) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(value("live-counters", {}).bits, 0u);

  const Val first = value("[constructor]counter", {Val::u32(5)});
  EXPECT_EQ(first.kind, ValueKind::kOwn);
  EXPECT_EQ(value("live-counters", {}).bits, 1u);
  const Val second = value("[constructor]counter", {Val::u32(100)});
  EXPECT_EQ(second.kind, ValueKind::kOwn);
  EXPECT_NE(first.bits, second.bits);
  EXPECT_EQ(value("live-counters", {}).bits, 2u);

  // Handing ownership back to the guest, which drops it: the destructor runs.
  EXPECT_EQ(value("consume-counter", {Val::own(static_cast<uint32_t>(second.bits))}).bits, 100u);
  EXPECT_EQ(value("live-counters", {}).bits, 1u);
  EXPECT_EQ(value("consume-counter", {Val::own(static_cast<uint32_t>(first.bits))}).bits, 5u);
  EXPECT_EQ(value("live-counters", {}).bits, 0u);
}

// A borrow of a guest resource passed to a method of the guest that implements it
// arrives as the resource's rep (CanonicalABI.md, lower_borrow: "if cx.inst is
// t.rt.impl: return rep"), which is what the C bindings dereference as `self`.
TEST_F(Values, GuestResourceMethodsTakeABorrow) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto first = static_cast<uint32_t>(value("[constructor]counter", {Val::u32(5)}).bits);
  const auto second = static_cast<uint32_t>(value("[constructor]counter", {Val::u32(100)}).bits);
  EXPECT_EQ(value("[method]counter.increment", {Val::borrow(first), Val::u32(3)}).bits, 8u);
  EXPECT_EQ(value("[method]counter.increment", {Val::borrow(first), Val::u32(2)}).bits, 10u);
  EXPECT_EQ(value("[method]counter.increment", {Val::borrow(second), Val::u32(1)}).bits, 101u);
  EXPECT_EQ(value("live-counters", {}).bits, 2u) << "a borrow must not destroy the counter";
  EXPECT_EQ(value("consume-counter", {Val::own(first)}).bits, 10u);
  EXPECT_EQ(value("consume-counter", {Val::own(second)}).bits, 101u);
  EXPECT_EQ(value("live-counters", {}).bits, 0u);
}

TEST_F(Values, HostResourceMadeAndDroppedByTheGuest) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(value("blob-round-trip", {Val::u32(42)}).bits, 42u);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].kind, ValueKind::kBorrow) << "blob-tag takes a borrow";
  EXPECT_EQ(seen_[0].bits, kBlobBase + 42);
  EXPECT_EQ(dropped_, std::vector<uint32_t>{kBlobBase + 42});
}

TEST_F(Values, HostResourceOwnedByTheGuestIsDroppedThroughTheHost) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(value("take-blob", {Val::own(kBlobBase + 7)}).bits, 7u);
  EXPECT_EQ(dropped_, std::vector<uint32_t>{kBlobBase + 7});
  EXPECT_EQ(value("take-blob", {Val::own(kBlobBase + 8)}).bits, 8u);
  EXPECT_EQ(dropped_, (std::vector<uint32_t>{kBlobBase + 7, kBlobBase + 8}));
}

TEST_F(Values, HostResourceBorrowedByTheGuestIsNotDropped) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(value("peek-blob", {Val::borrow(kBlobBase + 9)}).bits, 9u);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0].kind, ValueKind::kBorrow);
  EXPECT_EQ(seen_[0].bits, kBlobBase + 9);
  EXPECT_TRUE(dropped_.empty());
  // The same rep may be lent again: the guest gave the first borrow back.
  EXPECT_EQ(value("peek-blob", {Val::borrow(kBlobBase + 9)}).bits, 9u);
  EXPECT_TRUE(dropped_.empty());
}

TEST_F(Values, HostResourceHandedBackToTheHostIsNotDropped) {
  ASSERT_NO_FATAL_FAILURE(start());
  const Val back = value("return-blob", {Val::own(kBlobBase + 11)});
  EXPECT_EQ(back.kind, ValueKind::kOwn);
  EXPECT_EQ(back.bits, kBlobBase + 11);
  EXPECT_TRUE(dropped_.empty());
}

// The guest drops the borrow it was lent, then makes a blob of its own, whose handle may
// take the freed slot of the borrow: the call still returned its borrow.
TEST_F(Values, ABorrowTheGuestDroppedIsReturnedEvenIfItsSlotIsReused) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(value("peek-and-keep", {Val::borrow(kBlobBase + 9), Val::u32(5)}).bits, 9u);
  EXPECT_TRUE(dropped_.empty());
  EXPECT_EQ(value("peek-and-keep", {Val::borrow(kBlobBase + 10), Val::u32(6)}).bits, 10u);
  EXPECT_EQ(value("drop-kept", {}).bits, 2u);
  EXPECT_EQ(dropped_, (std::vector<uint32_t>{kBlobBase + 6, kBlobBase + 5}));
}

TEST_F(Values, AGuestThatKeepsABorrowPastItsCallFails) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string message = failure("leak-borrow", {Val::borrow(kBlobBase + 3)});
  EXPECT_TRUE(contains(message, "without dropping borrowed handle")) << message;
  EXPECT_TRUE(dropped_.empty());
}

// ---- a host that misbehaves -------------------------------------------------------------------

TEST_F(Values, AHostStringOfInvalidUtf8FailsTheCall) {
  host_returns("echo-string", Val::string("ok then \xff\xfe"));
  host_returns("echo-strings", Val::list({Val::string("fine"), Val::string("\xc0\xaf")}));
  ASSERT_NO_FATAL_FAILURE(start());
  std::string message = failure("call-host-string", {Val::string("x")});
  EXPECT_TRUE(contains(message, "not valid UTF-8")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-strings", {Val::list({})});
  EXPECT_TRUE(contains(message, "not valid UTF-8")) << message;

  // The same string as an argument of an export.
  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("echo-string", {Val::string("\xed\xa0\x80")});  // an encoded surrogate
  EXPECT_TRUE(contains(message, "not valid UTF-8")) << message;
}

TEST_F(Values, AHostRecordWithTheWrongNumberOfFieldsFailsTheCall) {
  host_returns("echo-person", Val::record({Val::string("only"), Val::u8(1)}));
  host_returns("echo-pair", Val::tuple({Val::u32(1), Val::string("a"), Val::f32(0),
                                        Val::boolean(true), Val::u32(99)}));
  ASSERT_NO_FATAL_FAILURE(start());
  std::string message = failure("call-host-person", {person("a", 1, 1, std::nullopt, {}, 1)});
  EXPECT_TRUE(contains(message, "2 fields where the type has 6")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-pair",
                    {Val::tuple({Val::u32(1), Val::string("a"), Val::f32(0), Val::boolean(true)})});
  EXPECT_TRUE(contains(message, "5 fields where the type has 4")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("echo-person", {Val::record({})});
  EXPECT_TRUE(contains(message, "0 fields where the type has 6")) << message;
}

TEST_F(Values, AHostVariantCaseOutOfRangeFailsTheCall) {
  host_returns("echo-shape", Val::variant(4));
  host_returns("echo-color", Val::enumeration(5));
  Val bad_option = Val::none();
  bad_option.bits = 2;
  host_returns("echo-option", bad_option);
  ASSERT_NO_FATAL_FAILURE(start());
  std::string message = failure("call-host-shape", {Val::variant(3)});
  EXPECT_TRUE(contains(message, "case 4 of 4")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-color", {Val::enumeration(0)});
  EXPECT_TRUE(contains(message, "case 5 of 5")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-option", {Val::none()});
  EXPECT_TRUE(contains(message, "case 2 of 2")) << message;

  // A case index out of range as an export's argument.
  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("echo-shape", {Val::variant(0xffffffffu)});
  EXPECT_TRUE(contains(message, "case 4294967295 of 4")) << message;
}

TEST_F(Values, AHostVariantPayloadThatDoesNotMatchItsCaseFailsTheCall) {
  host_returns("echo-shape", Val::variant(3, Val::u32(1)));  // `empty` has no payload
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string message = failure("call-host-shape", {Val::variant(3)});
  EXPECT_TRUE(contains(message, "payload does not match case 3")) << message;
}

TEST_F(Values, AHostCharThatIsASurrogateFailsTheCall) {
  host_returns("echo-char", Val::character(0xD800));
  host_returns("spill", [] {
    std::vector<Val> fields = spill_args();
    fields[10] = Val::character(0xDFFF);
    return Val::record(fields);
  }());
  ASSERT_NO_FATAL_FAILURE(start());
  std::string message = failure("call-host-char", {Val::character(U'a')});
  EXPECT_TRUE(contains(message, "invalid char")) << message;
  EXPECT_TRUE(contains(message, "55296")) << message;

  // In a record stored through a return pointer.
  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-spill", {Val::record(spill_args())});
  EXPECT_TRUE(contains(message, "invalid char: 57343")) << message;

  // Past U+10FFFF, as an export's argument.
  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("echo-char", {Val::character(0x110000)});
  EXPECT_TRUE(contains(message, "invalid char: 1114112")) << message;
}

// A Val of another kind than the type asks for is as malformed as a wrong field count.
TEST_F(Values, AHostValueOfTheWrongKindFailsTheCall) {
  host_returns("echo-string", Val::u32(7));
  host_returns("echo-u32", Val::string("seven"));
  host_returns("echo-person", Val::tuple({Val::string("a"), Val::u8(1), Val::f64(1), Val::none(),
                                          Val::list({}), Val::s64(1)}));
  ASSERT_NO_FATAL_FAILURE(start());
  std::string message = failure("call-host-string", {Val::string("x")});
  EXPECT_TRUE(contains(message, "string")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-u32", {Val::u32(7)});
  EXPECT_TRUE(contains(message, "u32")) << message;

  ASSERT_NO_FATAL_FAILURE(reinstantiate());
  message = failure("call-host-person", {person("a", 1, 1, std::nullopt, {}, 1)});
  EXPECT_TRUE(contains(message, "record")) << message;
}

TEST_F(Values, AHostErrorFailsTheCallWithTheHostsMessage) {
  host_function("echo-bytes", [](HostCall&, std::span<const Val>) -> HostResult {
    return std::string("the host refuses these bytes");
  });
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string message = failure("call-host-bytes", {Val::byte_list("abc")});
  EXPECT_TRUE(contains(message, "the host refuses these bytes")) << message;
}

// ---- a guest whose strings are UTF-16
// ------------------------------------------------------------

class Values16 : public Values {
 protected:
  Values16() : Values("gyre:fixtures/strings-host", "gyre:fixtures/strings-guest") {}
};

TEST_F(Values16, NonAsciiStringsRoundTripThroughUtf16) {
  ASSERT_NO_FATAL_FAILURE(start("c-values16"));
  for (const std::string& s :
       {std::string(""), std::string("plain"), std::string("h\xc3\xa9llo"),
        std::string("\xc3\xbf\xc4\x80"),                      // U+00FF U+0100: the Latin-1 edge
        std::string("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),  // U+65E5 U+672C U+8A9E
        std::string("\xf0\x9f\x98\x80"),                      // U+1F600: a surrogate pair
        std::string("a\xf0\x9f\x98\x80z\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf"),
        std::string("nul\0!", 5)}) {
    expect_round_trip("string", Val::string(s));
  }
}

TEST_F(Values16, TheGuestHoldsUtf16CodeUnits) {
  ASSERT_NO_FATAL_FAILURE(start("c-values16"));
  EXPECT_EQ(value("utf16-length", {Val::string("")}).bits, 0u);
  EXPECT_EQ(value("utf16-length", {Val::string("h\xc3\xa9llo")}).bits, 5u);
  EXPECT_EQ(value("utf16-length", {Val::string("\xe6\x97\xa5")}).bits, 1u);
  EXPECT_EQ(value("utf16-length", {Val::string("\xf0\x9f\x98\x80")}).bits, 2u);
  EXPECT_EQ(value("utf16-length", {Val::string("a\xf0\x9f\x98\x80z")}).bits, 4u);
}

TEST_F(Values16, ListsAndRecordsOfUtf16Strings) {
  ASSERT_NO_FATAL_FAILURE(start("c-values16"));
  expect_round_trip("strings", Val::list({}));
  expect_round_trip("strings", Val::list({Val::string("\xf0\x9f\x98\x80"), Val::string(""),
                                          Val::string("\xc3\xa9t\xc3\xa9"), Val::string("ascii")}));
  expect_round_trip("labeled",
                    Val::record({Val::string("\xf0\x9f\x98\x80 label"), Val::u32(0xffffffffu),
                                 Val::list({Val::string("\xe2\x82\xac"),
                                            Val::string("\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89")})}));
  expect_round_trip("labeled", Val::record({Val::string(""), Val::u32(0), Val::list({})}));
}

TEST_F(Values16, AHostStringOfInvalidUtf8FailsTheCall) {
  host_returns("echo-string", Val::string("\xf0\x9f\x98"));  // a truncated sequence
  ASSERT_NO_FATAL_FAILURE(start("c-values16"));
  const std::string message = failure("call-host-string", {Val::string("\xf0\x9f\x98\x80")});
  EXPECT_TRUE(contains(message, "not valid UTF-8")) << message;
}

}  // namespace
}  // namespace gyre::component
