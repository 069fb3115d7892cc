// The model goldens under tests/golden/model/data/ (tools/model/make_tiny_checkpoints.py and
// tools/train_demo/make_goldens.py), shared by the CPU golden tests and the GPU model tests:
// which checkpoints exist, what each golden.json holds, the logits comparison measure, and the
// two checks both suites run on a runner: logits rows against transformers' and greedy decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/llama_runner.h"

namespace swallow::test {

// One entry of a golden.json's "prompts".
struct GoldenPrompt {
  std::vector<int32_t> ids;               // the prompt
  std::vector<int32_t> logits_positions;  // positions whose logits rows transformers recorded
  std::string logits_tensor;              // those rows in golden.safetensors: [positions, vocab] f32
  std::vector<int32_t> greedy_tokens;     // transformers' greedy continuation
};

// One golden checkpoint.
struct GoldenCheckpoint {
  std::string dir;        // its folder: golden.json, golden.safetensors
  std::string model_dir;  // the model: golden.json's "model_dir" (relative to the source tree), else dir
  std::vector<GoldenPrompt> prompts;
};

// tests/golden/model/data, absolute.
std::string model_goldens_dir();
// Names of the folders there holding a golden.json, sorted.
std::vector<std::string> model_golden_names();
// The golden named `name` (a folder of model_goldens_dir()).
GoldenCheckpoint load_golden_checkpoint(const std::string& name);
// max |got - want| / max |want| over n values (one logits row).
double max_relative_error(const float* got, const float* want, size_t n);

// Runs each prompt through a fresh SingleSequence of `runner` and expects every logits row within
// `bound` (max_relative_error; a row with a non-finite logit fails) of transformers' row. Returns
// the worst error.
double expect_logits_rows_within(LlamaRunner& runner, const GoldenCheckpoint& golden, double bound);
// n_tokens tokens greedily decoded after `prompt` by a fresh SingleSequence of `runner`.
std::vector<int32_t> greedy_tokens(LlamaRunner& runner, const std::vector<int32_t>& prompt, size_t n_tokens);

}  // namespace swallow::test
