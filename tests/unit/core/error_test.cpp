// swallow::Error carries its kind and message; log levels parse or fail clearly.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/log.h"

using namespace swallow;

TEST(Error, KeepsKindAndMessage) {
  Error e = invalid_file("model/config.json", "field 'hidden_size' must be a positive integer");
  EXPECT_EQ(e.kind(), ErrorKind::kInvalidFile);
  EXPECT_STREQ(e.what(), "model/config.json: field 'hidden_size' must be a positive integer");
  EXPECT_STREQ(error_kind_name(e.kind()), "invalid_file");
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::kDebug);
  EXPECT_EQ(parse_log_level("off"), LogLevel::kOff);
  EXPECT_THROW(parse_log_level("verbose"), Error);
}
