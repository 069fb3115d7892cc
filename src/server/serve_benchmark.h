// `swallow bench serve`: drives a running OpenAI-compatible server over HTTP like
// `vllm bench serve` with its random dataset: N streaming /v1/completions requests whose prompts
// are random token ids of sampled lengths, sent at a Poisson request rate and/or with a cap on
// concurrency; measures TTFT, TPOT, inter-token latency and end-to-end latency per request.
// run_serve_benchmark blocks; it starts its own client threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace swallow::server {

// A length distribution: "N" (fixed), "uniform:MIN:MAX" or "normal:MEAN:STD" (clamped to >= 1).
struct LengthDistribution {
  enum class Kind { kFixed, kUniform, kNormal } kind = Kind::kFixed;
  double a = 0;
  double b = 0;
  static LengthDistribution parse(const std::string& text, const std::string& flag);
};

struct ServeBenchmarkOptions {
  std::string base_url = "http://127.0.0.1:8000";
  std::optional<std::string> model;    // default: the first of /v1/models
  std::optional<std::string> api_key;
  int32_t num_requests = 100;
  int32_t concurrency = 0;             // max requests in flight; 0: unlimited
  double request_rate = 0;             // requests/s, Poisson arrivals; 0: all at once
  LengthDistribution prompt_tokens{LengthDistribution::Kind::kFixed, 256, 0};
  LengthDistribution output_tokens{LengthDistribution::Kind::kFixed, 128, 0};
  int32_t max_token_id = 10000;        // random prompt ids are drawn from [100, max_token_id)
  uint64_t seed = 0;
};

// Runs the benchmark and returns {"config": ..., "results": ...} (latencies in milliseconds).
nlohmann::json run_serve_benchmark(const ServeBenchmarkOptions& options);
// The human-readable table of a run_serve_benchmark result.
std::string format_serve_benchmark(const nlohmann::json& report);

}  // namespace swallow::server
