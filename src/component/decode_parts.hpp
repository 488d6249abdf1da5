// The inside of the component decoder (component/decode.hpp), shared by the files that
// make it up: the byte reader and its failure, and the core-type decoding
// (decode_core.cpp) that the component-level decoding (decode.cpp) calls. Not for use
// elsewhere.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/utf8.hpp"
#include "component/model.hpp"

namespace gyre::component::decoding {

// Nesting deeper than this (components in components, types in types) is refused, so a
// hostile binary cannot exhaust the stack.
constexpr int kMaxDepth = 64;

// Thrown inside the decoder only; decode() turns it into a DecodeError value.
struct Failure {
  uint64_t offset;
  std::string message;
};

inline std::string hex_byte(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof text, "0x%02x", byte);
  return text;
}

class Reader {
 public:
  Reader(std::span<const uint8_t> bytes, uint64_t base) : bytes_(bytes), base_(base) {}

  uint64_t offset() const { return base_ + pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  bool done() const { return pos_ == bytes_.size(); }

  [[noreturn]] void fail(std::string message) const { throw Failure{offset(), std::move(message)}; }
  [[noreturn]] void fail_at(uint64_t at, std::string message) const {
    throw Failure{at, std::move(message)};
  }

  uint8_t byte(const char* what) {
    if (pos_ >= bytes_.size()) fail(std::string("unexpected end of input, expected ") + what);
    return bytes_[pos_++];
  }
  uint8_t peek(const char* what) const {
    if (pos_ >= bytes_.size()) fail(std::string("unexpected end of input, expected ") + what);
    return bytes_[pos_];
  }

  uint32_t u32(const char* what) { return static_cast<uint32_t>(uleb(32, what)); }
  uint64_t u64(const char* what) { return uleb(64, what); }

  uint64_t uleb(int bits, const char* what) {
    const uint64_t start = offset();
    uint64_t result = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = byte(what);
      if (shift >= bits) fail_at(start, std::string("integer too long for ") + what);
      const uint64_t payload = b & 0x7f;
      // The last byte may only use the bits that remain.
      if (shift + 7 > bits && (payload >> (bits - shift)) != 0) {
        fail_at(start, std::string("integer too large for ") + what);
      }
      result |= payload << shift;
      if ((b & 0x80) == 0) return result;
    }
  }

  // Signed LEB128 of up to 33 bits (value types and heap types).
  int64_t s33(const char* what) {
    const uint64_t start = offset();
    int64_t result = 0;
    int shift = 0;
    uint8_t b;
    do {
      b = byte(what);
      if (shift >= 35) fail_at(start, std::string("integer too long for ") + what);
      result |= static_cast<int64_t>(b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) result |= -(int64_t{1} << shift);
    if (result < -(int64_t{1} << 32) || result >= (int64_t{1} << 32)) {
      fail_at(start, std::string("integer out of range for ") + what);
    }
    return result;
  }

  // A vector length, checked against what is left so no later allocation can be huge:
  // every element takes at least one byte.
  uint32_t count(const char* what) {
    const uint64_t at = offset();
    const uint32_t n = u32(what);
    if (n > remaining()) {
      fail_at(at, std::string("length ") + std::to_string(n) + " of " + what +
                      " exceeds the remaining " + std::to_string(remaining()) + " bytes");
    }
    return n;
  }

  std::string name(const char* what) {
    const uint32_t n = count(what);
    const uint64_t at = offset();
    std::string text(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    if (!valid_utf8(text)) fail_at(at, std::string(what) + " is not valid UTF-8");
    return text;
  }

  // The next `size` bytes as a reader of their own, and this reader past them.
  Reader sub(uint64_t size, const char* what) {
    if (size > remaining()) {
      fail(std::string(what) + " of " + std::to_string(size) + " bytes runs past the end (" +
           std::to_string(remaining()) + " left)");
    }
    Reader inner(bytes_.subspan(pos_, size), offset());
    pos_ += size;
    return inner;
  }

  ByteRange range_to_end() const { return ByteRange{offset(), remaining()}; }
  void skip_to_end() { pos_ = bytes_.size(); }

  template <class F>
  auto vec(const char* what, F&& element) {
    const uint32_t n = count(what);
    std::vector<decltype(element())> out;
    out.reserve(n);
    for (uint32_t i = 0; i < n; ++i)
      out.push_back(element());
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t base_;
  size_t pos_ = 0;
};

// ---- core types (decode_core.cpp) ----

CoreValType core_valtype(Reader& r);
CoreSort core_sort(Reader& r);
std::shared_ptr<CoreType> core_type(Reader& r, int depth);
CoreInstance core_instance(Reader& r);

}  // namespace gyre::component::decoding
