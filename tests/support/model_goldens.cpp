// The model goldens' folder layout and comparison measure.
#include "support/model_goldens.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "support/test_support.h"

namespace swallow::test {

std::string model_goldens_dir() { return source_path("tests/golden/model/data"); }

std::vector<std::string> model_golden_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(model_goldens_dir(), ec), end; !ec && it != end; it.increment(ec)) {
    if (std::filesystem::exists(it->path() / "golden.json")) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string model_golden_model_dir(const std::string& name, const nlohmann::json& golden) {
  if (golden.contains("model_dir")) return source_path(golden["model_dir"].get<std::string>());
  return model_goldens_dir() + "/" + name;
}

double max_relative_error(const float* got, const float* want, size_t n) {
  double max_ref = 0, max_diff = 0;
  for (size_t i = 0; i < n; ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  return max_diff / max_ref;
}

}  // namespace swallow::test
