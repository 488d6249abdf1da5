// A bounds-checked reader of core module bytes (LEB128 integers, names, sections) for the
// small recognizers that look into core modules without a full decoder. Any read past the
// end or malformed integer makes the reader fail; callers then answer "not known".
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace gyre::component {

class CoreReader {
 public:
  explicit CoreReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  bool ok() const { return ok_; }
  bool done() const { return pos_ >= bytes_.size(); }
  size_t pos() const { return pos_; }

  uint8_t byte() {
    if (!ok_ || pos_ >= bytes_.size()) return fail();
    return bytes_[pos_++];
  }
  uint32_t u32() {
    uint64_t value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      const uint8_t b = byte();
      value |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return value <= UINT32_MAX ? static_cast<uint32_t>(value) : fail();
    }
    return fail();
  }
  uint64_t u64() {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      const uint8_t b = byte();
      if (shift == 63 && b > 1) return fail();
      value |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return value;
    }
    return fail();
  }
  int32_t s32() {
    int64_t value = 0;
    int shift = 0;
    uint8_t b = 0;
    do {
      if (shift >= 35) return fail();
      b = byte();
      value |= int64_t{b & 0x7f} << shift;
      shift += 7;
    } while ((b & 0x80) != 0 && ok_);
    if (shift < 64 && (b & 0x40) != 0) value |= -(int64_t{1} << shift);
    if (value < INT32_MIN || value > INT32_MAX) return fail();
    return static_cast<int32_t>(value);
  }
  std::string name() {
    const uint32_t size = u32();
    if (!ok_ || size > bytes_.size() - pos_) return fail(), std::string();
    std::string out(reinterpret_cast<const char*>(bytes_.data() + pos_), size);
    pos_ += size;
    return out;
  }
  std::span<const uint8_t> take(uint32_t size) {
    if (!ok_ || size > bytes_.size() - pos_) return fail(), std::span<const uint8_t>();
    auto out = bytes_.subspan(pos_, size);
    pos_ += size;
    return out;
  }
  uint8_t fail() {
    ok_ = false;
    return 0;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace gyre::component
