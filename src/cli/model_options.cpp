// Shared model flags and load_model(): options -> backend -> weights (checkpoint or dummy) ->
// LlamaRunner, with a progress line on terminals.
#include "cli/model_options.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "backend/cpu/cpu_backend.h"
#if defined(SWALLOW_HAVE_CUDA_BACKEND)
#include "backend/cuda/cuda_backend.h"
#endif
#include "core/error.h"
#include "core/log.h"
#include "model/dummy_presets.h"
#include "model/llama_model.h"

namespace swallow::cli {
namespace {

constexpr uint64_t kMaxDefaultKvCacheBytes = uint64_t{4} << 30;  // CPU, as vLLM's CPU default
// GPU: the KV cache takes what is free after the weights, less scratch for batches this large.
constexpr int64_t kGpuScratchTokens = 8192;
constexpr int64_t kGpuScratchRows = 256;

std::string gigabytes(uint64_t n_bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(n_bytes) / 1e9);
  return text;
}

// The set-up cache folder (scripts/setup.sh): $SWALLOW_CACHE, else ~/.cache/swallow.
std::string swallow_cache_dir() {
  const char* env = std::getenv("SWALLOW_CACHE");
  if (env != nullptr && *env != '\0') return env;
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.cache/swallow";
}

std::string find_tokenizer_dir(const ModelOptions& o) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!o.model_dir.empty()) return fs::exists(o.model_dir + "/tokenizer.json", ec) ? o.model_dir : "";
  const std::string cached = swallow_cache_dir() + "/llama3.1-tokenizer";
  return fs::exists(cached + "/tokenizer.json", ec) ? cached : "";
}

std::unique_ptr<Backend> make_backend(const ModelOptions& o) {
  if (o.device == "cpu") return std::make_unique<CpuBackend>(CpuBackendOptions{.n_threads = o.threads});
#if defined(SWALLOW_HAVE_CUDA_BACKEND)
  return std::make_unique<CudaBackend>(
      CudaBackendOptions{.gpu_memory_utilization = o.gpu_memory_utilization, .graphs = !o.enforce_eager});
#else
  throw unsupported("--device " + o.device + ": this build has no CUDA backend (configure with -DSWALLOW_CUDA=ON "
                    "on a machine with the CUDA toolkit)");
#endif
}

// CPU: enough for one sequence of max_model_len tokens (the model's own length when unset),
// capped. GPU: whatever the weights left free, less the scratch of large batches.
uint64_t default_kv_cache_bytes(const ModelOptions& o, const ModelConfig& config, const Backend& backend) {
  if (o.device != "cpu") {
    const uint64_t scratch =
        LlamaModel::scratch_bytes(config, backend.activation_dtype(), kGpuScratchTokens, kGpuScratchRows);
    const uint64_t free = backend.free_memory();
    if (free <= scratch) {
      throw resource_exhausted("the weights leave " + gigabytes(free) + " of GPU memory, less than the " +
                               gigabytes(scratch) + " of scratch activations; raise --gpu-memory-utilization");
    }
    return free - scratch;
  }
  const LlamaRunnerOptions defaults;
  const int64_t tokens = o.max_model_len > 0 ? o.max_model_len : config.max_position_embeddings;
  const int64_t blocks = (tokens + defaults.block_size - 1) / defaults.block_size;
  const auto bytes_per_token = static_cast<uint64_t>(2 * config.n_layers * config.n_kv_heads * config.head_dim) *
                               dtype_size(backend.activation_dtype());
  return std::min(kMaxDefaultKvCacheBytes, static_cast<uint64_t>(blocks * defaults.block_size) * bytes_per_token);
}

// Rewrites one stderr line with the percentage done, when stderr is a terminal.
std::function<void(uint64_t, uint64_t)> progress_line(const std::string& what) {
  if (::isatty(STDERR_FILENO) == 0) return {};
  return [what, last = -1](uint64_t done, uint64_t total) mutable {
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (percent == last) return;
    last = percent;
    std::fprintf(stderr, "\r%s: %3d%% (%s of %s)%s", what.c_str(), percent, gigabytes(done).c_str(),
                 gigabytes(total).c_str(), done >= total ? "\n" : "");
    std::fflush(stderr);
  };
}

}  // namespace

void add_model_options(CLI::App& app, ModelOptions& o) {
  std::string presets;
  for (const std::string& p : dummy_preset_names()) presets += (presets.empty() ? "" : ", ") + p;
  app.add_option("--model", o.model_dir, "Hugging Face model folder (config.json, *.safetensors, tokenizer.json)");
  app.add_option("--dummy-weights", o.dummy_preset,
                 "run a published model shape with generated weights instead of a checkpoint: " + presets);
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: one per core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--kv-cache-memory", o.kv_cache_memory,
                 "memory for the paged KV cache, e.g. 2GiB (default: on the CPU what one --max-model-len sequence "
                 "needs, at most 4GiB; on a GPU what the weights leave free)");
  app.add_option("--max-model-len", o.max_model_len,
                 "longest sequence (prompt + output); default: the model's, limited by the KV cache")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--gpu-memory-utilization", o.gpu_memory_utilization,
                 "share of GPU memory for weights, activations and KV cache (cuda)")
      ->check(CLI::Range(0.05, 1.0))
      ->capture_default_str();
  app.add_flag("--enforce-eager", o.enforce_eager,
               "run every decode step op by op instead of replaying recorded CUDA graphs (cuda)");
}

uint64_t parse_byte_size(const std::string& text, const std::string& flag) {
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
  std::string unit = text.substr(end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::pair<const char*, double> units[] = {
      {"", 1},      {"B", 1},      {"K", 0x1p10},  {"KIB", 0x1p10}, {"KB", 1e3},     {"M", 0x1p20}, {"MIB", 0x1p20},
      {"MB", 1e6},  {"G", 0x1p30}, {"GIB", 0x1p30}, {"GB", 1e9},    {"T", 0x1p40},   {"TIB", 0x1p40}, {"TB", 1e12}};
  const auto bad = [&] {
    return invalid_argument(flag + " '" + text + "': expected a size such as 512MiB, 4GiB, 1.5GB or 1048576");
  };
  if (end == 0) throw bad();
  char* parsed_end = nullptr;
  const double value = std::strtod(text.substr(0, end).c_str(), &parsed_end);
  if (*parsed_end != '\0') throw bad();
  for (const auto& [name, scale] : units) {
    if (unit != name) continue;
    const double n_bytes = value * scale;
    if (n_bytes >= 0x1p63) throw bad();
    return static_cast<uint64_t>(n_bytes);
  }
  throw bad();
}

LoadedModel load_model(const ModelOptions& o) {
  if (o.model_dir.empty() && o.dummy_preset.empty()) {
    throw invalid_argument("give --model DIR (a Hugging Face folder) or --dummy-weights PRESET");
  }
  const auto start = std::chrono::steady_clock::now();
  LoadedModel m;
  const bool dummy = !o.dummy_preset.empty();
  m.name = dummy ? "dummy:" + o.dummy_preset : o.model_dir;
  m.config = dummy ? dummy_preset_config(o.dummy_preset) : load_model_config(o.model_dir);
  if (!o.model_dir.empty()) {
    m.generation = load_generation_config(o.model_dir);
  } else {
    m.generation.eos_token_ids = m.config.eos_token_ids;
    m.generation.bos_token_id = m.config.bos_token_id;
  }
  m.tokenizer_dir = find_tokenizer_dir(o);

  std::unique_ptr<Backend> backend = make_backend(o);
  const WeightLoadOptions load{.host_memory = o.device == "cpu",
                               .n_threads = o.threads,
                               .progress = progress_line(dummy ? "generating weights" : "loading weights")};
  LlamaWeights weights = dummy ? make_dummy_llama_weights(m.config, *backend, load)
                               : load_llama_weights(o.model_dir, m.config, *backend, load);
  const uint64_t weight_bytes = weights.n_bytes;

  const uint64_t kv_bytes = o.kv_cache_memory.empty() ? default_kv_cache_bytes(o, m.config, *backend)
                                                       : parse_byte_size(o.kv_cache_memory, "--kv-cache-memory");
  if (kv_bytes > backend->free_memory()) {
    throw resource_exhausted("a KV cache of " + gigabytes(kv_bytes) + " does not fit: the " + backend->name() + " backend has " +
                             gigabytes(backend->free_memory()) + " left after " + gigabytes(weight_bytes) +
                             " of weights");
  }
  if (o.max_model_len > INT32_MAX) throw invalid_argument("--max-model-len must be < 2^31");
  m.runner = std::make_unique<LlamaRunner>(std::move(backend), m.config, std::move(weights),
                                           LlamaRunnerOptions{.kv_cache_bytes = static_cast<int64_t>(kv_bytes),
                                                              .max_model_len = static_cast<int32_t>(o.max_model_len)});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const KvCacheShape& kv = m.runner->kv_shape();
  log_info("model " + m.name + ": " + gigabytes(weight_bytes) + " of weights in " + std::to_string(seconds).substr(0, 5) +
           " s on " + m.runner->backend().name() + "; KV cache " + std::to_string(kv.n_blocks) + " blocks of " +
           std::to_string(kv.block_size) + " tokens; max_model_len " + std::to_string(m.runner->max_model_len()));
  return m;
}

}  // namespace swallow::cli
