// Paths and environment rules for tests.
#include "support/test_support.h"

#include <cstdlib>
#include <filesystem>

namespace swallow::test {

std::string source_path(const std::string& relative) { return std::string(SWALLOW_SOURCE_DIR) + "/" + relative; }

std::string swallow_binary() { return SWALLOW_BINARY; }

std::string cache_dir() {
  const char* env = std::getenv("SWALLOW_CACHE");
  return (env != nullptr && *env != '\0') ? std::string(env) : std::string(SWALLOW_DEFAULT_CACHE_DIR);
}

std::string llama31_tokenizer_dir() {
  std::string dir = cache_dir() + "/llama3.1-tokenizer";
  return std::filesystem::exists(dir + "/tokenizer.json") ? dir : std::string();
}

bool in_ci() {
  const char* env = std::getenv("CI");
  return env != nullptr && std::string(env) == "true";
}

}  // namespace swallow::test
