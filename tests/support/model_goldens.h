// The model goldens under tests/golden/model/data/ (tools/model/make_tiny_checkpoints.py and
// tools/train_demo/make_goldens.py), shared by the CPU golden tests and the GPU model tests:
// which checkpoints exist, where each one's model folder is, and the logits comparison measure.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace swallow::test {

// tests/golden/model/data, absolute.
std::string model_goldens_dir();
// Names of the folders there holding a golden.json, sorted.
std::vector<std::string> model_golden_names();
// The model folder of a golden: its "model_dir" (relative to the source tree) when given, else
// the golden's own folder.
std::string model_golden_model_dir(const std::string& name, const nlohmann::json& golden);
// max |got - want| / max |want| over n values (one logits row).
double max_relative_error(const float* got, const float* want, size_t n);

}  // namespace swallow::test
