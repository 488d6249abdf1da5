#include "base/byte_size.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

TEST(ByteSize, ReadsDecimalAndBinaryUnits) {
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("10B"), 10u);
  EXPECT_EQ(parse_byte_size("2kB"), 2000u);
  EXPECT_EQ(parse_byte_size("3MB"), 3000000u);
  EXPECT_EQ(parse_byte_size("1GB"), 1000000000u);
  EXPECT_EQ(parse_byte_size("64k"), 65536u);
  EXPECT_EQ(parse_byte_size("256MiB"), 256u << 20);
  EXPECT_EQ(parse_byte_size("256 mib"), 256u << 20);
  EXPECT_EQ(parse_byte_size("4GiB"), 4ull << 30);
  EXPECT_EQ(parse_byte_size("1g"), 1ull << 30);
}

TEST(ByteSize, RefusesWhatIsNotASize) {
  EXPECT_FALSE(parse_byte_size(""));
  EXPECT_FALSE(parse_byte_size("MB"));
  EXPECT_FALSE(parse_byte_size("-1MB"));
  EXPECT_FALSE(parse_byte_size("1.5GB"));
  EXPECT_FALSE(parse_byte_size("12 parsecs"));
  EXPECT_FALSE(parse_byte_size("99999999999999999999"));
  EXPECT_FALSE(parse_byte_size("99999999999GiB"));
}

}  // namespace
}  // namespace gyre
