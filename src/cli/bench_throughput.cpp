// `swallow bench throughput`: offline serving throughput of the engine, like vLLM's throughput
// bench: --num-requests requests of --prompt-tokens random ids (the first --shared-prefix-tokens
// of them common to all) and --output-tokens greedy tokens each (ignore_eos), at most
// --concurrency in flight, submitted from client threads. Reports requests/s, output and total
// tok/s, the decode-phase generation rate (tokens delivered after every request had its first
// one, per second of that phase: llama-batched-bench's S_TG when all requests run at once), TTFT
// and TPOT percentiles, KV usage, prefix-cache hit rate and preemptions, as a table or JSON. A
// warm-up request (carrying the shared prefix, as a system prompt served before would) runs
// first and is not counted.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "cli/bench.h"
#include "cli/engine_session.h"
#include "core/error.h"

namespace swallow::cli {
namespace {

struct ThroughputOptions {
  ModelOptions model;
  EngineFlags engine;
  int32_t num_requests = 64;
  int32_t concurrency = 0;  // 0: all at once
  int32_t prompt_tokens = 256;
  int32_t output_tokens = 128;
  int32_t shared_prefix_tokens = 0;
  uint64_t seed = 0;
  std::string format = "text";
};

using Clock = std::chrono::steady_clock;

struct RequestResult {
  RequestTimings timings;
  int32_t completion_tokens = 0;
  std::vector<std::pair<Clock::time_point, int32_t>> deliveries;  // (arrival, tokens) of each delta
};

// Peaks of the engine's stats while the run goes on.
struct Peaks {
  double kv_usage = 0;
  int32_t running = 0;
};

// Interpolated percentile p in [0, 100] of values (sorted here).
double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

// Prompts of random ids in [100, min(vocab, 100000)), sharing their first shared_prefix_tokens.
std::vector<std::vector<int32_t>> make_prompts(const ThroughputOptions& o, int32_t vocab_size) {
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<int32_t> token(100, std::min(vocab_size, 100000) - 1);
  std::vector<int32_t> prefix(static_cast<size_t>(o.shared_prefix_tokens));
  for (int32_t& id : prefix) id = token(rng);
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(o.num_requests), prefix);
  for (auto& prompt : prompts) {
    while (static_cast<int32_t>(prompt.size()) < o.prompt_tokens) prompt.push_back(token(rng));
  }
  return prompts;
}

GenerationRequest greedy_request(std::vector<int32_t> prompt, int32_t max_tokens) {
  GenerationRequest r;
  r.prompt_ids = std::move(prompt);
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  r.sampling.temperature = 0.0f;
  return r;
}

RequestResult run_request(Engine& engine, GenerationRequest request) {
  std::shared_ptr<RequestStream> stream = engine.submit(std::move(request));
  RequestResult result;
  RequestEvent event;
  while (stream->next(event)) {
    if (event.kind == RequestEvent::Kind::kError) throw internal_error("request failed: " + event.error);
    if (!event.token_ids.empty()) {
      result.deliveries.emplace_back(Clock::now(), static_cast<int32_t>(event.token_ids.size()));
    }
    if (event.kind == RequestEvent::Kind::kFinished) {
      result.timings = event.timings;
      result.completion_tokens = event.completion_tokens;
    }
  }
  return result;
}

// Runs all prompts with `concurrency` client threads; samples the engine's stats meanwhile.
std::vector<RequestResult> run_all(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                   int32_t output_tokens, int32_t concurrency, Peaks& peaks) {
  std::vector<RequestResult> results(prompts.size());
  std::atomic<size_t> next{0};
  std::atomic<int> clients_left{concurrency};
  std::vector<std::thread> clients;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (int32_t c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      try {
        for (size_t i = next++; i < prompts.size(); i = next++) {
          results[i] = run_request(engine, greedy_request(prompts[i], output_tokens));
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
      }
      --clients_left;
    });
  }
  while (clients_left > 0) {
    const EngineStats stats = engine.stats();
    peaks.kv_usage = std::max(peaks.kv_usage, stats.kv_usage);
    peaks.running = std::max(peaks.running, stats.running);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::thread& t : clients) t.join();
  if (failure) std::rethrow_exception(failure);
  return results;
}

std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

nlohmann::json percentiles_ms(const std::vector<double>& seconds) {
  return {{"p50", 1000 * percentile(seconds, 50)}, {"p90", 1000 * percentile(seconds, 90)},
          {"p99", 1000 * percentile(seconds, 99)}};
}

std::string percentiles_text(const nlohmann::json& ms) {
  return fixed(ms["p50"].get<double>(), 1) + " / " + fixed(ms["p90"].get<double>(), 1) + " / " +
         fixed(ms["p99"].get<double>(), 1) + " ms";
}

// Tokens delivered after the last request's first token, per second until the last delivery;
// 0 when no token came after that moment.
double decode_phase_tok_s(const std::vector<RequestResult>& results) {
  Clock::time_point phase_start{}, phase_end{};
  for (const RequestResult& r : results) {
    if (r.deliveries.empty()) continue;
    phase_start = std::max(phase_start, r.deliveries.front().first);
    phase_end = std::max(phase_end, r.deliveries.back().first);
  }
  int64_t tokens = 0;
  for (const RequestResult& r : results) {
    for (const auto& [at, n] : r.deliveries) tokens += at > phase_start ? n : 0;
  }
  const double seconds = std::chrono::duration<double>(phase_end - phase_start).count();
  return tokens > 0 && seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0;
}

int run_throughput(const ThroughputOptions& o) {
  if (o.num_requests < 1 || o.prompt_tokens < 1 || o.output_tokens < 1 || o.concurrency < 0) {
    throw invalid_argument("--num-requests, --prompt-tokens and --output-tokens must be >= 1, --concurrency >= 0");
  }
  if (o.shared_prefix_tokens < 0 || o.shared_prefix_tokens > o.prompt_tokens) {
    throw invalid_argument("--shared-prefix-tokens must be in [0, --prompt-tokens]");
  }
  const MachineInfo machine = measure_machine(o.model.threads);
  std::unique_ptr<EngineSession> session = start_engine(o.model, o.engine);
  Engine& engine = *session->engine;
  const std::vector<std::vector<int32_t>> prompts = make_prompts(o, session->model.runner->vocab_size());
  const int32_t concurrency = o.concurrency == 0 ? o.num_requests : std::min(o.concurrency, o.num_requests);

  std::vector<int32_t> warm_up(prompts[0].begin(), prompts[0].begin() + o.shared_prefix_tokens);
  warm_up.push_back(1);
  run_request(engine, greedy_request(warm_up, 2));
  const EngineStats before = engine.stats();

  Peaks peaks;
  const auto start = Clock::now();
  const std::vector<RequestResult> results = run_all(engine, prompts, o.output_tokens, concurrency, peaks);
  const double duration = std::chrono::duration<double>(Clock::now() - start).count();
  const EngineStats after = engine.stats();

  std::vector<double> ttft, tpot;
  int64_t output_tokens = 0;
  for (const RequestResult& r : results) {
    ttft.push_back(r.timings.time_to_first_token_s);
    tpot.push_back(r.timings.time_per_output_token_s);
    output_tokens += r.completion_tokens;
  }
  const int64_t prompt_tokens = int64_t{o.num_requests} * o.prompt_tokens;
  const int64_t queries = after.prefix_cache_queries - before.prefix_cache_queries;
  const double hit_rate =
      queries > 0 ? static_cast<double>(after.prefix_cache_hits - before.prefix_cache_hits) / static_cast<double>(queries) : 0;

  // Mean engine-thread time per step in the measured window, ms.
  const double steps = static_cast<double>(std::max<int64_t>(after.steps - before.steps, 1));
  const double schedule_ms = 1e3 * (after.schedule_s_sum - before.schedule_s_sum) / steps;
  const double execute_ms = 1e3 * (after.execute_s_sum - before.execute_s_sum) / steps;
  const double update_ms = 1e3 * (after.update_s_sum - before.update_s_sum) / steps;

  nlohmann::json out = bench_json("throughput", session->model, o.model, machine);
  out.update({{"num_requests", o.num_requests}, {"concurrency", concurrency}, {"prompt_tokens", o.prompt_tokens},
              {"output_tokens", o.output_tokens}, {"shared_prefix_tokens", o.shared_prefix_tokens},
              {"max_num_seqs", o.engine.max_num_seqs}, {"max_num_batched_tokens", o.engine.max_num_batched_tokens},
              {"prefix_caching", !o.engine.no_prefix_caching}, {"duration_s", duration},
              {"requests_per_s", o.num_requests / duration},
              {"output_tok_s", static_cast<double>(output_tokens) / duration},
              {"decode_phase_tok_s", decode_phase_tok_s(results)},
              {"total_tok_s", static_cast<double>(prompt_tokens + output_tokens) / duration},
              {"ttft_ms", percentiles_ms(ttft)}, {"tpot_ms", percentiles_ms(tpot)},
              {"kv_blocks_total", after.kv_blocks_total}, {"kv_block_size", after.kv_block_size},
              {"kv_usage_peak", peaks.kv_usage}, {"running_peak", peaks.running},
              {"prefix_cache_hit_rate", hit_rate}, {"preemptions", after.preemptions - before.preemptions},
              {"peak_rss_bytes", peak_rss_bytes()}, {"steps", after.steps - before.steps},
              {"engine_step_ms", {{"schedule", schedule_ms}, {"execute", execute_ms}, {"update", update_ms}}}});
  if (o.format == "json") {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  print_table("bench throughput: " + session->model.name,
              {{"backend", session->model.runner->backend().name()},
               {"cpu", machine.cpu},
               {"requests", std::to_string(o.num_requests) + " x (" + std::to_string(o.prompt_tokens) + " prompt [" +
                                std::to_string(o.shared_prefix_tokens) + " shared] + " +
                                std::to_string(o.output_tokens) + " output) tokens, " + std::to_string(concurrency) +
                                " in flight"},
               {"duration", fixed(duration, 2) + " s"},
               {"requests/s", fixed(o.num_requests / duration, 3)},
               {"output tok/s", fixed(static_cast<double>(output_tokens) / duration, 2)},
               {"decode-phase tok/s", fixed(out["decode_phase_tok_s"].get<double>(), 2)},
               {"total tok/s", fixed(static_cast<double>(prompt_tokens + output_tokens) / duration, 2)},
               {"TTFT p50/p90/p99", percentiles_text(out["ttft_ms"])},
               {"TPOT p50/p90/p99", percentiles_text(out["tpot_ms"])},
               {"KV usage (peak)", fixed(100 * peaks.kv_usage, 1) + "% of " + std::to_string(after.kv_blocks_total) +
                                       " blocks"},
               {"running (peak)", std::to_string(peaks.running)},
               {"prefix cache hit rate", fixed(100 * hit_rate, 1) + "%"},
               {"preemptions", std::to_string(after.preemptions - before.preemptions)},
               {"engine step (mean)", fixed(schedule_ms, 3) + " ms schedule + " + fixed(execute_ms, 3) +
                                          " ms execute (model, sampling) + " + fixed(update_ms, 3) +
                                          " ms results, " + fixed(steps, 0) + " steps"}});
  return 0;
}

const BenchRegistration kRegistration(
    "throughput", "Engine throughput with concurrent requests (continuous batching)", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<ThroughputOptions>();
      add_model_options(sub, o->model);
      add_engine_flags(sub, o->engine);
      sub.add_option("--num-requests,--num-prompts", o->num_requests, "requests to run")->capture_default_str();
      sub.add_option("--concurrency", o->concurrency, "requests in flight at most (0: all at once)")->capture_default_str();
      sub.add_option("--prompt-tokens", o->prompt_tokens, "prompt length")->capture_default_str();
      sub.add_option("--output-tokens", o->output_tokens, "tokens generated per request (ignore_eos)")->capture_default_str();
      sub.add_option("--shared-prefix-tokens", o->shared_prefix_tokens, "leading prompt tokens common to all requests")
          ->capture_default_str();
      sub.add_option("--seed", o->seed, "seed of the random prompts")->capture_default_str();
      sub.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
      return [o]() { return run_throughput(*o); };
    });

}  // namespace
}  // namespace swallow::cli
