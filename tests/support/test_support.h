// Helpers shared by all test suites: where the source tree, the built binary and the set-up
// cache are, and the rule for external test data (absent data fails under CI=true, else skips).
#pragma once

#include <string>

namespace swallow::test {

// Absolute path of a file in the source tree, e.g. source_path("tests/golden/x.json").
std::string source_path(const std::string& relative);
// Absolute path of the built `swallow` executable.
std::string swallow_binary();
// The set-up cache folder ($SWALLOW_CACHE, else the one configured at build time).
std::string cache_dir();
// Folder with the Llama 3.1 tokenizer.json + tokenizer_config.json installed by set-up, or ""
// when it is missing (callers use REQUIRE_TEST_DATA).
std::string llama31_tokenizer_dir();
// True when the CI environment variable is "true": missing test data is then a failure.
bool in_ci();

}  // namespace swallow::test

// Skips the test when `path` is empty and we are not in CI; fails it in CI.
#define REQUIRE_TEST_DATA(path, what)                                                   \
  do {                                                                                  \
    if ((path).empty()) {                                                               \
      if (::swallow::test::in_ci()) FAIL() << "missing test data: " << (what);          \
      GTEST_SKIP() << "missing test data (run scripts/setup.sh): " << (what);           \
    }                                                                                   \
  } while (0)
