// RFC 3339 timestamps and durations (server/common/time.h).
#include "server/common/time.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pantry {
namespace {

using ::testing::HasSubstr;

constexpr Micros kSecond = kMicrosPerSecond;
constexpr Micros kMinute = 60 * kSecond;
constexpr Micros kHour = 60 * kMinute;
constexpr Micros kDay = 24 * kHour;

// 2026-01-31T12:00:00Z
constexpr Micros kJan31Noon = 1769860800 * kSecond;

Micros MustParse(absl::string_view text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : kNoTimestamp;
}

TEST(ParseRfc3339, ParsesUtcTimestamp) {
  EXPECT_EQ(MustParse("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(MustParse("2026-01-31T12:00:00Z"), kJan31Noon);
  EXPECT_EQ(MustParse("2026-01-31t12:00:00z"), kJan31Noon);
}

TEST(ParseRfc3339, AppliesTheOffset) {
  EXPECT_EQ(MustParse("2026-01-31T14:00:00+02:00"), kJan31Noon);
  EXPECT_EQ(MustParse("2026-01-31T07:30:00-04:30"), kJan31Noon);
}

TEST(ParseRfc3339, KeepsFractionalSecondsToTheMicrosecond) {
  EXPECT_EQ(MustParse("2026-01-31T12:00:00.5Z"), kJan31Noon + 500000);
  EXPECT_EQ(MustParse("2026-01-31T12:00:00.123456Z"), kJan31Noon + 123456);
  EXPECT_EQ(MustParse("2026-01-31T14:00:00.000001+02:00"), kJan31Noon + 1);
}

TEST(ParseRfc3339, TimestampWithoutOffsetIsUtc) {
  EXPECT_EQ(MustParse("2026-01-31T12:00:00"), kJan31Noon);
  EXPECT_EQ(MustParse("2026-01-31T12:00:00.25"), kJan31Noon + 250000);
}

TEST(ParseRfc3339, AcceptsASpaceBetweenDateAndTimeAndSurroundingWhitespace) {
  EXPECT_EQ(MustParse("2026-01-31 12:00:00Z"), kJan31Noon);
  EXPECT_EQ(MustParse("  2026-01-31T12:00:00Z\n"), kJan31Noon);
}

TEST(ParseRfc3339, HandlesTimesBeforeTheEpoch) {
  EXPECT_EQ(MustParse("1969-12-31T23:59:59Z"), -kSecond);
  EXPECT_EQ(MustParse("1969-12-31T23:59:59.999999Z"), -1);
}

TEST(ParseRfc3339, RejectsMalformedTextNamingIt) {
  for (absl::string_view bad :
       {"", "now", "2026-01-31", "2026-01-31T12:00Z", "2026-13-01T00:00:00Z",
        "2026-01-32T00:00:00Z", "2026-01-31T25:00:00Z", "2026-01-31T12:00:00+0200x",
        "2026/01/31 12:00:00", "2026-01-31T12:00:00ZZ", "12:00:00 2026-01-31"}) {
    auto t = ParseRfc3339(bad);
    ASSERT_FALSE(t.ok()) << "accepted '" << bad << "' as " << *t;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(t.status().message()),
                HasSubstr(std::string("'") + std::string(bad) + "'"));
  }
}

TEST(FormatRfc3339, UsesZAndOmitsZeroFraction) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(kJan31Noon), "2026-01-31T12:00:00Z");
}

TEST(FormatRfc3339, WritesSixFractionDigitsWhenNonZero) {
  EXPECT_EQ(FormatRfc3339(kJan31Noon + 500000), "2026-01-31T12:00:00.500000Z");
  EXPECT_EQ(FormatRfc3339(kJan31Noon + 1), "2026-01-31T12:00:00.000001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(Rfc3339, FormatThenParseRoundTrips) {
  for (Micros t : {Micros{0}, Micros{1}, Micros{-1}, kJan31Noon, kJan31Noon + 123456,
                   Micros{-86400} * kSecond + 7, Micros{253402300799} * kSecond + 999999,
                   // 1000-01-01: FormatRfc3339 writes years below 1000 without
                   // leading zeros, which is not RFC 3339; event times never go there.
                   Micros{-30610224000} * kSecond}) {
    const std::string text = FormatRfc3339(t);
    auto back = ParseRfc3339(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.status();
    EXPECT_EQ(*back, t) << text;
  }
}

TEST(Rfc3339, ParseThenFormatIsCanonicalUtc) {
  EXPECT_EQ(FormatRfc3339(MustParse("2026-01-31T14:00:00.100+02:00")),
            "2026-01-31T12:00:00.100000Z");
  EXPECT_EQ(FormatRfc3339(MustParse("2026-01-31 12:00:00")), "2026-01-31T12:00:00Z");
}

TEST(ParseDuration, ParsesEveryUnit) {
  EXPECT_EQ(*ParseDuration("90s"), 90 * kSecond);
  EXPECT_EQ(*ParseDuration("15m"), 15 * kMinute);
  EXPECT_EQ(*ParseDuration("2h"), 2 * kHour);
  EXPECT_EQ(*ParseDuration("7d"), 7 * kDay);
  EXPECT_EQ(*ParseDuration(" 7d "), 7 * kDay);
}

TEST(ParseDuration, ZeroMeansZero) {
  EXPECT_EQ(*ParseDuration("0"), 0);
  EXPECT_EQ(*ParseDuration("0s"), 0);
  EXPECT_EQ(*ParseDuration("0d"), 0);
}

TEST(ParseDuration, RejectsBadInputNamingIt) {
  for (absl::string_view bad : {"", "7", "d", "7x", "-1d", "+1d", "1.5h", "7 d", "7dd", "1w",
                                "250ms", "1d2h", "99999999999999999999d", "106751992d"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.ok()) << "accepted '" << bad << "' as " << *d;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(d.status().message()),
                HasSubstr(std::string("invalid duration '") + std::string(bad) + "'"));
  }
}

TEST(FormatDuration, UsesTheLargestUnitThatDividesIt) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(7 * kDay), "7d");
  EXPECT_EQ(FormatDuration(36 * kHour), "36h");
  EXPECT_EQ(FormatDuration(90 * kMinute), "90m");
  EXPECT_EQ(FormatDuration(90 * kSecond), "90s");
}

TEST(Duration, FormatThenParseRoundTripsWholeSeconds) {
  for (Micros d : {Micros{0}, kSecond, 59 * kSecond, kMinute, 61 * kSecond, kHour, 25 * kHour, kDay,
                   365 * kDay}) {
    auto back = ParseDuration(FormatDuration(d));
    ASSERT_TRUE(back.ok()) << FormatDuration(d);
    EXPECT_EQ(*back, d);
  }
}

TEST(NowMicros, IsAfter2020AndDoesNotGoBackwardsMuch) {
  const Micros a = NowMicros();
  const Micros b = NowMicros();
  EXPECT_GT(a, MustParse("2020-01-01T00:00:00Z"));
  EXPECT_GE(b, a - kSecond);
}

}  // namespace
}  // namespace pantry
