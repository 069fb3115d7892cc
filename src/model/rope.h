// Rotary embedding frequencies of a Llama config: inv_freq[i] = 1 / theta^(2i / head_dim), with
// llama3 frequency scaling when the config asks for it, computed in float32 operation by
// operation as transformers does (so the tables match its buffers bit for bit). Pure; thread-safe.
#pragma once

#include <vector>

#include "io/model_config.h"

namespace swallow {

// [head_dim / 2] f32. Throws unsupported for a rope type other than "default" or "llama3".
std::vector<float> rope_inv_freq(const ModelConfig& config);

}  // namespace swallow
