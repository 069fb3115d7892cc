// The device sample op's data layout and launcher (sampling.cu): logit_bias and penalties
// (host-prepared per-token edits), then the argmax or temperature, min_p, top_k, top_p and a draw
// with the host-computed uniform u by walking the kept probabilities in token-id order (the CPU
// sampler's rule); log_softmax of the raw logits for the requested logprobs. Rows with only
// temperature and top_p (uses_split_path) are split over many blocks (sampling_split.cu); the
// others take one block.
// Plain data shared host <-> device.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cuda/kernels.h"

namespace swallow::cuda {

// Most top logprobs one row may ask for.
constexpr int32_t kMaxTopLogprobs = 1024;

struct SampleRowParams {
  double u = 0.0;  // the draw, uniform in [0, 1)
  float temperature = 1.0f;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t top_k = 0;
  int32_t n_logprobs = -1;
  int32_t greedy = 0;
  int32_t edit_begin = 0;  // this row's SampleEdit range
  int32_t edit_count = 0;
  int32_t pad = 0;
};

// Everything that changes one token's logit, applied in the CPU sampler's order: biases (in
// list order), the repetition penalty when `repeated`, then frequency and presence penalties.
struct SampleEdit {
  int32_t token = 0;
  int32_t bias_begin = 0;  // range in the bias array
  int32_t bias_count = 0;
  int32_t repeated = 0;   // the token is in the prompt or the output
  int32_t out_count = 0;  // occurrences in the output
};

// True for rows sampled by the split-row kernels: a draw with no min_p, top_k or logprobs.
inline __host__ __device__ bool uses_split_path(const SampleRowParams& p, int32_t n_vocab) {
  return p.greedy == 0 && p.min_p <= 0.0f && !(p.top_k > 0 && p.top_k < n_vocab) && p.n_logprobs < 0;
}

struct SampleRowResult {
  int32_t token = 0;
  float logprob = 0.0f;
};

struct SampleLaunch {
  const void* logits = nullptr;  // [n_rows, n_vocab] logits_dtype
  DType logits_dtype = DType::kF32;
  int32_t n_rows = 0;
  int32_t n_vocab = 0;
  const SampleRowParams* rows = nullptr;  // [n_rows] (device)
  const SampleEdit* edits = nullptr;      // (device)
  const float* biases = nullptr;          // (device)
  float* work = nullptr;                  // sample_work_bytes scratch: processed logits, split-row state
  SampleRowResult* results = nullptr;     // [n_rows] (device)
  int32_t* top_ids = nullptr;             // [n_rows, max_top] (device)
  float* top_logprobs = nullptr;          // [n_rows, max_top] (device)
  int32_t max_top = 0;
  int32_t n_split_rows = 0;  // rows with uses_split_path (host-counted; 0 skips the split kernels)
};

// Bytes of SampleLaunch::work for n_rows rows of n_vocab logits.
size_t sample_work_bytes(int32_t n_rows, int32_t n_vocab);

void launch_sample(const SampleLaunch& args, const LaunchContext& ctx);

}  // namespace swallow::cuda
