// `swallow bench latency`: one sequence, as llama-bench's pp/tg tests and vLLM's latency bench:
// prefill of --prompt-tokens ids (one forward pass, sampling the first token), then
// --gen-tokens greedy decode steps. Reports tok/s for both phases, decode as a share of the
// memory bandwidth measured in the same run, and peak RSS; a table, or JSON with --format json.
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "cli/bench.h"
#include "core/dummy_hash.h"
#include "core/error.h"
#include "model/single_sequence.h"

namespace swallow::cli {
namespace {

struct LatencyOptions {
  ModelOptions model;
  int32_t prompt_tokens = 512;
  int32_t gen_tokens = 64;
  int32_t repetitions = 1;
  std::string format = "text";
};

// Wall and process CPU seconds (all threads) of each phase. CPU time tells how much of the
// machine a run got when others share it.
struct Phases {
  double prefill_s = 0, prefill_cpu_s = 0;
  double decode_s = 0, decode_cpu_s = 0;
};

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prefill `prompt`, then decode `gen_tokens` greedy tokens; times both phases.
Phases run_once(SingleSequence& seq, const std::vector<int32_t>& prompt, int32_t gen_tokens) {
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  seq.clear();
  Phases t;
  auto start = std::chrono::steady_clock::now();
  double cpu_start = process_cpu_seconds();
  int32_t token = seq.append_and_sample(prompt, greedy).token;
  t.prefill_s = seconds_since(start);
  t.prefill_cpu_s = process_cpu_seconds() - cpu_start;
  start = std::chrono::steady_clock::now();
  cpu_start = process_cpu_seconds();
  for (int32_t i = 0; i < gen_tokens; ++i) token = seq.append_and_sample(std::span(&token, 1), greedy).token;
  t.decode_s = seconds_since(start);
  t.decode_cpu_s = process_cpu_seconds() - cpu_start;
  return t;
}

// Mean and sample standard deviation of count / seconds over the repetitions.
std::pair<double, double> rate(const std::vector<Phases>& runs, double count, double Phases::*phase) {
  std::vector<double> r;
  for (const Phases& p : runs) r.push_back(count / (p.*phase));
  const double mean = std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(r.size());
  double var = 0;
  for (double v : r) var += (v - mean) * (v - mean);
  return {mean, r.size() > 1 ? std::sqrt(var / static_cast<double>(r.size() - 1)) : 0.0};
}

std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

int run_latency(const LatencyOptions& o) {
  if (o.prompt_tokens < 1 || o.gen_tokens < 1 || o.repetitions < 1) {
    throw invalid_argument("--prompt-tokens, --gen-tokens and --repetitions must be >= 1");
  }
  const MachineInfo machine = measure_machine(o.model.threads);
  ModelOptions model_options = o.model;
  if (model_options.max_model_len == 0) model_options.max_model_len = o.prompt_tokens + o.gen_tokens;
  LoadedModel model = load_model(model_options);
  if (o.prompt_tokens + o.gen_tokens > model.runner->max_model_len()) {
    throw invalid_argument("--prompt-tokens + --gen-tokens exceed max_model_len " +
                           std::to_string(model.runner->max_model_len()));
  }
  std::vector<int32_t> prompt(static_cast<size_t>(o.prompt_tokens));  // fixed pseudo-random ids
  for (size_t i = 0; i < prompt.size(); ++i) {
    prompt[i] = static_cast<int32_t>(dummy::hash(0x5eed, i) % static_cast<uint64_t>(model.runner->vocab_size()));
  }
  SingleSequence seq(*model.runner, o.prompt_tokens);
  // Warm-up: touches every weight page and grows the scratch buffers once.
  run_once(seq, std::vector<int32_t>(prompt.begin(), prompt.begin() + std::min<int32_t>(o.prompt_tokens, 32)), 1);
  std::vector<Phases> runs;
  for (int32_t r = 0; r < o.repetitions; ++r) runs.push_back(run_once(seq, prompt, o.gen_tokens));

  const auto [prefill, prefill_sd] = rate(runs, o.prompt_tokens, &Phases::prefill_s);
  const auto [decode, decode_sd] = rate(runs, o.gen_tokens, &Phases::decode_s);
  double wall_s = 0, cpu_s = 0;
  for (const Phases& p : runs) {
    wall_s += p.prefill_s + p.decode_s;
    cpu_s += p.prefill_cpu_s + p.decode_cpu_s;
  }
  const int n_threads = o.model.threads > 0 ? o.model.threads : machine.n_cpus;
  const double cpu_share = cpu_s / (wall_s * n_threads);  // 1: the threads never waited for a core
  const double weight_gb = static_cast<double>(model.runner->weights().n_bytes) / 1e9;
  const double share = decode * weight_gb / machine.memory_bandwidth_gbs;
  nlohmann::json out = bench_json("latency", model, model_options, machine);
  out.update({{"prompt_tokens", o.prompt_tokens}, {"gen_tokens", o.gen_tokens}, {"repetitions", o.repetitions},
              {"prefill_tok_s", prefill}, {"prefill_tok_s_stddev", prefill_sd}, {"decode_tok_s", decode},
              {"decode_tok_s_stddev", decode_sd}, {"decode_weight_gbs", decode * weight_gb},
              {"decode_bandwidth_share", share}, {"peak_rss_bytes", peak_rss_bytes()},
              {"cpu_share", cpu_share}});
  if (o.format == "json") {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  print_table("bench latency: " + model.name,
              {{"backend", model.runner->backend().name()},
               {"cpu", machine.cpu},
               {"memory bandwidth", fixed(machine.memory_bandwidth_gbs, 1) + " GB/s (" + machine.memory_bandwidth_method + ")"},
               {"weights", fixed(weight_gb, 2) + " GB"},
               {"prefill " + std::to_string(o.prompt_tokens), fixed(prefill, 2) + " tok/s (+/- " + fixed(prefill_sd, 2) + ")"},
               {"decode " + std::to_string(o.gen_tokens), fixed(decode, 2) + " tok/s (+/- " + fixed(decode_sd, 2) + ")"},
               {"decode weight stream", fixed(decode * weight_gb, 1) + " GB/s = " + fixed(100 * share, 0) +
                                            "% of memory bandwidth"},
               {"peak RSS", fixed(static_cast<double>(peak_rss_bytes()) / 1e9, 2) + " GB"},
               {"CPU share", fixed(100 * cpu_share, 0) + "% of " + std::to_string(n_threads) +
                                 " cores busy during the runs (less: others used the machine)"}});
  return 0;
}

const BenchRegistration kRegistration(
    "latency", "Single-sequence prefill and decode speed", [](CLI::App& sub) -> SubcommandRun {
      auto o = std::make_shared<LatencyOptions>();
      add_model_options(sub, o->model);
      sub.add_option("--prompt-tokens", o->prompt_tokens, "prompt length (one prefill pass)")->capture_default_str();
      sub.add_option("--gen-tokens", o->gen_tokens, "greedy decode steps after the prefill")->capture_default_str();
      sub.add_option("--repetitions", o->repetitions, "runs to average")->capture_default_str();
      sub.add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
      return [o]() { return run_latency(*o); };
    });

}  // namespace
}  // namespace swallow::cli
