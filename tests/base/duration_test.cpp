#include "base/duration.hpp"

#include <gtest/gtest.h>

namespace gyre {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ReadsTheUnitsSpinsOptionsTake) {
  EXPECT_EQ(parse_duration("1s"), 1s);
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("250us"), 250us);
  EXPECT_EQ(parse_duration("10ns"), 10ns);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("2min"), 2min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1d"), 24h);
  EXPECT_EQ(parse_duration("3sec"), 3s);
}

TEST(Duration, AddsUpSeveralParts) {
  EXPECT_EQ(parse_duration("2m30s"), 150s);
  EXPECT_EQ(parse_duration("1h 1m 1s"), 3661s);
  EXPECT_EQ(parse_duration("1s500ms"), 1500ms);
}

TEST(Duration, ABareNumberIsInTheCallersUnit) {
  EXPECT_EQ(parse_duration("500"), 500ms);
  EXPECT_EQ(parse_duration("7", std::chrono::seconds(1)), 7s);
  EXPECT_EQ(parse_duration(" 0 "), 0ms);
}

TEST(Duration, RefusesWhatIsNotADuration) {
  EXPECT_FALSE(parse_duration(""));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("1.5s"));
  EXPECT_FALSE(parse_duration("1 fortnight"));
  EXPECT_FALSE(parse_duration("1s2"));
  EXPECT_FALSE(parse_duration("99999999999999999999s"));
  EXPECT_FALSE(parse_duration("9999999999h"));
}

}  // namespace
}  // namespace gyre
