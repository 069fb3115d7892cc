// `swallow bench serve`: load test of a running OpenAI-compatible server (this one or vLLM),
// like `vllm bench serve` with random prompts: throughput, TTFT, TPOT, ITL and end-to-end
// latency percentiles as a table, or JSON with --format json. The JSON starts with the machine
// fields every bench kind reports (no model is loaded here: the server has it).
#include <cstdio>
#include <memory>

#include "cli/bench.h"
#include "server/serve_benchmark.h"

namespace swallow::cli {
namespace {

struct ServeBenchCliOptions {
  server::ServeBenchmarkOptions bench;
  std::string model;
  std::string api_key;
  std::string prompt_tokens = "256";
  std::string output_tokens = "128";
  std::string format = "text";
};

int run_bench_serve(ServeBenchCliOptions& o) {
  o.bench.prompt_tokens = server::LengthDistribution::parse(o.prompt_tokens, "--prompt-tokens");
  o.bench.output_tokens = server::LengthDistribution::parse(o.output_tokens, "--output-tokens");
  if (!o.model.empty()) o.bench.model = o.model;
  if (!o.api_key.empty()) o.bench.api_key = o.api_key;
  const MachineInfo machine = measure_machine(0);
  nlohmann::json report = server::run_serve_benchmark(o.bench);
  nlohmann::json out = {{"bench", "serve"},
                        {"model", report["config"]["model"]},
                        {"cpu", machine.cpu},
                        {"n_cpus", machine.n_cpus},
                        {"memory_bandwidth_gbs", machine.memory_bandwidth_gbs},
                        {"memory_bandwidth_method", machine.memory_bandwidth_method},
                        {"config", report["config"]},
                        {"results", report["results"]},
                        {"peak_rss_bytes", peak_rss_bytes()}};
  if (o.format == "json") {
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%s", server::format_serve_benchmark(report).c_str());
  }
  return report["results"]["failed"].get<int64_t>() == 0 ? 0 : 1;
}

const BenchRegistration kRegistration(
    "serve", "Load test of a running server over HTTP (like vllm bench serve)", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<ServeBenchCliOptions>();
      sub.add_option("--base-url", o->bench.base_url, "Server URL")->capture_default_str();
      sub.add_option("--model", o->model, "Model name to send (default: the first of /v1/models)");
      sub.add_option("--api-key", o->api_key, "Sent as 'Authorization: Bearer KEY'")->envname("SWALLOW_API_KEY");
      sub.add_option("--num-requests,--num-prompts", o->bench.num_requests, "Requests to send")->capture_default_str();
      sub.add_option("--concurrency,--max-concurrency", o->bench.concurrency, "Requests in flight at most (0: no cap)")
          ->capture_default_str();
      sub.add_option("--request-rate", o->bench.request_rate, "Poisson arrival rate in requests/s (0: all at once)")
          ->capture_default_str();
      sub.add_option("--prompt-tokens", o->prompt_tokens, "Prompt length: N, uniform:MIN:MAX or normal:MEAN:STD")
          ->capture_default_str();
      sub.add_option("--output-tokens", o->output_tokens, "Output length (ignore_eos): N, uniform:MIN:MAX or normal:MEAN:STD")
          ->capture_default_str();
      sub.add_option("--max-token-id", o->bench.max_token_id, "Random prompt ids are below this")->capture_default_str();
      sub.add_option("--seed", o->bench.seed, "Seed of the prompts, lengths and arrivals")->capture_default_str();
      sub.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
      return [o]() { return run_bench_serve(*o); };
    });

}  // namespace
}  // namespace swallow::cli
