// rope_inv_freq: transformers' _compute_default_rope_parameters and _compute_llama3_parameters.
// Python scalars meet float32 tensors there, so every constant is rounded to float and every
// operation rounds to float; the library is built with -ffp-contract=off to keep that.
#include "model/rope.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace swallow {
namespace {

// 1 / (base ** (arange(0, dim, 2).float() / dim))
std::vector<float> default_inv_freq(float base, int64_t dim) {
  std::vector<float> inv_freq(static_cast<size_t>(dim / 2));
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(dim);
    inv_freq[static_cast<size_t>(i)] = 1.0f / std::pow(base, exponent);
  }
  return inv_freq;
}

// Scales wavelengths above original_max / low_freq_factor by 1 / factor, keeps those below
// original_max / high_freq_factor, and interpolates smoothly in between.
void apply_llama3_scaling(const RopeScaling& s, std::vector<float>& inv_freq) {
  const float factor = static_cast<float>(s.factor);
  const float low = static_cast<float>(s.low_freq_factor);
  const float old_context = static_cast<float>(s.original_max_position_embeddings);
  const float low_freq_wavelen = static_cast<float>(static_cast<double>(s.original_max_position_embeddings) / s.low_freq_factor);
  const float high_freq_wavelen = static_cast<float>(static_cast<double>(s.original_max_position_embeddings) / s.high_freq_factor);
  const float two_pi = static_cast<float>(2.0 * std::numbers::pi);
  const float high_minus_low = static_cast<float>(s.high_freq_factor - s.low_freq_factor);
  for (float& f : inv_freq) {
    const float wavelen = two_pi / f;
    const float llama = wavelen > low_freq_wavelen ? f / factor : f;
    if (wavelen < high_freq_wavelen || wavelen > low_freq_wavelen) {
      f = llama;
      continue;
    }
    const float smooth = (old_context / wavelen - low) / high_minus_low;
    const float scaled_part = ((1.0f - smooth) * llama) / factor;
    const float kept_part = smooth * llama;
    f = scaled_part + kept_part;
  }
}

}  // namespace

std::vector<float> rope_inv_freq(const ModelConfig& config) {
  std::vector<float> inv_freq = default_inv_freq(static_cast<float>(config.rope_theta), config.head_dim);
  if (config.rope_scaling.rope_type == "llama3") {
    apply_llama3_scaling(config.rope_scaling, inv_freq);
  } else if (config.rope_scaling.rope_type != "default") {
    throw unsupported("rope_type '" + config.rope_scaling.rope_type + "' (supported: default, llama3)");
  }
  return inv_freq;
}

}  // namespace swallow
