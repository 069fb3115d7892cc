// Test helpers: a tiny random-weight LlamaForCausalLM written as a Hugging Face folder
// (config.json + safetensors) from a seeded generator, and a CpuBackend LlamaRunner over it.
// The tensors are kept as f32 values (after the storage dtype's rounding) for reference models.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "model/llama_runner.h"

namespace swallow::test {

struct TinySpec {
  int64_t vocab = 67, hidden = 48, intermediate = 80, n_layers = 2, n_heads = 4, n_kv_heads = 2, head_dim = 16;
  int64_t max_positions = 256;
  double rms_norm_eps = 1e-5, rope_theta = 10000.0;
  bool llama3_rope = true;  // factor 4, low 1, high 4, original 32: positions > 32 feel the scaling
  bool tied = false;
  DType dtype = DType::kF32;  // storage dtype
};

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;  // exactly representable in the storage dtype
  std::optional<DType> dtype;  // stored dtype when not the spec's (I32 stores the values truncated)
};

// The HF tensors of `spec` with seeded uniform values (norms 1 +- 0.2, matrices +- 2/sqrt(in)).
std::vector<NamedTensor> make_tiny_tensors(const TinySpec& spec, uint32_t seed);

// Writes config.json and model.safetensors (tensors stored in spec.dtype) into `dir`, created.
void write_tiny_checkpoint(const std::string& dir, const TinySpec& spec, const std::vector<NamedTensor>& tensors);

// A fresh empty folder under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct RunnerSetup {
  int n_threads = 2;
  bool reference_kernels = false;
  // A kernel table by name ("avx2", "amx"); empty: avx2 where the CPU has it (the tests' f32
  // bounds assume f32 activations, which the amx table rounds to bf16), else the default.
  std::string kernels;
  int64_t kv_cache_bytes = 8 << 20;
  int32_t block_size = 16;
};

// Loads the checkpoint in `dir` onto a CpuBackend.
std::unique_ptr<LlamaRunner> make_cpu_runner(const std::string& dir, const RunnerSetup& setup = {});

}  // namespace swallow::test
