#include "mat/llm/retry.h"

#include <gtest/gtest.h>

#include <set>

namespace mat::llm {
namespace {

using std::chrono::milliseconds;

// "Sun, 06 Nov 1994 08:49:37 GMT", the example date of RFC 9110.
const auto kExampleDate = std::chrono::system_clock::from_time_t(784111777);

TEST(Backoff, CeilingDoublesFromInitialUpToMax) {
  const BackoffPolicy policy{milliseconds(100), milliseconds(500)};
  EXPECT_EQ(backoff_ceiling(policy, 0), milliseconds(100));
  EXPECT_EQ(backoff_ceiling(policy, 1), milliseconds(200));
  EXPECT_EQ(backoff_ceiling(policy, 2), milliseconds(400));
  EXPECT_EQ(backoff_ceiling(policy, 3), milliseconds(500));
  EXPECT_EQ(backoff_ceiling(policy, 1000), milliseconds(500));  // no overflow on long runs
}

TEST(Backoff, DelayStaysWithinZeroAndTheCeilingAndVaries) {
  const BackoffPolicy policy{milliseconds(50), milliseconds(1000)};
  for (int retry = 0; retry < 8; ++retry) {
    std::set<milliseconds::rep> seen;
    for (int sample = 0; sample < 200; ++sample) {
      const milliseconds delay = backoff_delay(policy, retry);
      ASSERT_GE(delay, milliseconds(0)) << "retry " << retry;
      ASSERT_LE(delay, backoff_ceiling(policy, retry)) << "retry " << retry;
      seen.insert(delay.count());
    }
    EXPECT_GT(seen.size(), 5u) << "no jitter at retry " << retry;
  }
}

TEST(Backoff, ZeroPolicyNeverWaits) {
  EXPECT_EQ(backoff_delay({milliseconds(0), milliseconds(0)}, 3), milliseconds(0));
}

TEST(RetryAfter, ReadsDelaySeconds) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("0", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("120", now), milliseconds(120'000));
  EXPECT_EQ(parse_retry_after(" 5 ", now), milliseconds(5'000));
}

TEST(RetryAfter, HugeDelaySecondsDoNotOverflow) {
  const auto wait = parse_retry_after("99999999999999999999999", std::chrono::system_clock::now());
  ASSERT_TRUE(wait.has_value());
  EXPECT_GT(*wait, milliseconds(0));
}

TEST(RetryAfter, ReadsHttpDatesRelativeToNow) {
  const auto now = kExampleDate - std::chrono::seconds(30);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), milliseconds(30'000));
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), milliseconds(30'000));
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now), milliseconds(30'000));
}

TEST(RetryAfter, DateInThePastMeansNoWait) {
  EXPECT_EQ(
      parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kExampleDate + std::chrono::hours(1)),
      milliseconds(0));
}

TEST(RetryAfter, RejectsWhatIsNeitherSecondsNorADate) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now), std::nullopt);
}

TEST(RetryableStatus, TransientStatusesAreRetried) {
  for (int status : {408, 429, 500, 502, 503, 504})
    EXPECT_TRUE(is_retryable_status(status)) << status;
}

TEST(RetryableStatus, ClientErrorsAreNot) {
  for (int status : {200, 400, 401, 403, 404, 422})
    EXPECT_FALSE(is_retryable_status(status)) << status;
}

}  // namespace
}  // namespace mat::llm
