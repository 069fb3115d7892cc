// The model configurations selectable with --dummy-weights: the published Llama 3.1 / 3.2
// shapes, rope settings and special tokens, stored as bf16. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "io/model_config.h"

namespace swallow {

// Names accepted by dummy_preset_config, e.g. "llama3.2-1b".
std::vector<std::string> dummy_preset_names();
// Throws invalid_argument naming the preset and the accepted names.
ModelConfig dummy_preset_config(const std::string& name);

}  // namespace swallow
