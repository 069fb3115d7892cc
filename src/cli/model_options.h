// The flags every model-running subcommand shares (--model / --dummy-weights, --device,
// --threads, --kv-cache-memory, --max-model-len, --gpu-memory-utilization) and load_model(), which
// builds backend + weights + LlamaRunner from them. Used on the main thread before a command runs.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "io/model_config.h"
#include "model/llama_runner.h"

namespace swallow::cli {

struct ModelOptions {
  std::string model_dir;                // --model: Hugging Face folder (also the tokenizer with dummy weights)
  std::string dummy_preset;             // --dummy-weights: llama3.1-8b, llama3.1-70b, llama3.2-1b, llama3.2-3b
  std::string device = "cpu";           // --device: cpu or cuda
  int threads = 0;                      // --threads: CPU threads; 0 = one per core
  std::string kv_cache_memory;          // --kv-cache-memory: e.g. 2GiB; "": CPU one max_model_len sequence
                                        // (<= 4GiB), GPU what the weights leave free
  int64_t max_model_len = 0;            // --max-model-len: 0 = min(max_position_embeddings, KV capacity);
                                        // single-sequence commands set it to what they need when unset
  double gpu_memory_utilization = 0.9;  // --gpu-memory-utilization: share of GPU memory for weights + KV
  bool enforce_eager = false;           // --enforce-eager: no CUDA graphs
};

// Adds the flags above to a subcommand, writing into `options` (which must outlive parsing).
void add_model_options(CLI::App& app, ModelOptions& options);

struct LoadedModel {
  std::string name;              // the model folder, or "dummy:<preset>"
  ModelConfig config;
  GenerationConfig generation;   // generation_config.json of --model; empty for dummy weights alone
  std::string tokenizer_dir;     // folder with tokenizer.json: --model, else the set-up cache's
                                 // Llama 3.1 tokenizer; "" when neither exists
  std::unique_ptr<LlamaRunner> runner;
};

// Validates the options, creates the backend, loads or generates the weights (progress on stderr
// when it is a terminal) and builds the runner. Throws swallow::Error naming the flag or file.
LoadedModel load_model(const ModelOptions& options);

// "4GiB", "512MiB", "1.5GB", "1048576": K/M/G/T and KiB.. are powers of 1024, KB/MB/GB/TB of 1000.
// Throws invalid_argument naming `flag`.
uint64_t parse_byte_size(const std::string& text, const std::string& flag);

}  // namespace swallow::cli
