// `swallow bench`: dispatches to the registered bench kinds, and the shared measurements (machine
// name, memcpy bandwidth, peak RSS) and JSON head that every kind reports.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "cli/bench.h"
#include "core/thread_pool.h"
#include "model/llama_weights.h"

namespace swallow::cli {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

int64_t parameter_count(const ModelConfig& config) {
  LlamaWeights shapes;
  int64_t n = 0;
  for (const WeightSlot& slot : llama_weight_slots(config, shapes)) n += slot.rows * slot.cols;
  return n;
}

const SubcommandRegistration kRegistration(
    "bench", "Benchmarks (latency, ...): print a table or --format json", [](CLI::App& sub) -> SubcommandRun {
      sub.require_subcommand(1);
      auto runs = std::make_shared<std::vector<std::pair<CLI::App*, SubcommandRun>>>();
      std::vector<BenchKind> kinds = bench_kinds();
      std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      for (BenchKind& kind : kinds) {
        CLI::App* app = sub.add_subcommand(kind.name, kind.description);
        runs->emplace_back(app, kind.setup(*app));
      }
      return [runs]() {
        for (auto& [app, run] : *runs) {
          if (app->parsed()) return run();
        }
        return 1;
      };
    });

}  // namespace

std::vector<BenchKind>& bench_kinds() {
  static std::vector<BenchKind> kinds;
  return kinds;
}

MachineInfo measure_machine(int n_threads) {
  MachineInfo m;
  m.cpu = cpu_model_name();
  m.n_cpus = static_cast<int>(std::thread::hardware_concurrency());
  constexpr size_t kBytes = size_t{256} << 20;
  constexpr int kRepeats = 5;
  ThreadPool pool(n_threads);
  std::vector<uint8_t> src(kBytes, 1), dst(kBytes, 0);  // [kBytes] each, touched before timing
  double best = 1e30;
  for (int r = 0; r < kRepeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(static_cast<int64_t>(kBytes), [&](int64_t begin, int64_t end) {
      std::memcpy(dst.data() + begin, src.data() + begin, static_cast<size_t>(end - begin));
    }, int64_t{1} << 20);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  m.memory_bandwidth_gbs = 2.0 * static_cast<double>(kBytes) / best / 1e9;
  m.memory_bandwidth_method = "memcpy of 256 MiB on " + std::to_string(pool.n_threads()) +
                              " threads, best of 5, bytes read + written";
  return m;
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

nlohmann::json bench_json(const std::string& kind, const LoadedModel& model, const ModelOptions& options,
                          const MachineInfo& machine) {
  return {{"bench", kind},
          {"model", model.name},
          {"device", options.device},
          {"backend", model.runner->backend().name()},
          {"graphs", model.runner->backend().supports_graphs()},
          {"decode_graphs",
           {{"recorded", model.runner->decode_graph_stats().recorded},
            {"replayed", model.runner->decode_graph_stats().replayed}}},
          {"threads", options.threads > 0 ? options.threads : machine.n_cpus},
          {"cpu", machine.cpu},
          {"n_cpus", machine.n_cpus},
          {"memory_bandwidth_gbs", machine.memory_bandwidth_gbs},
          {"memory_bandwidth_method", machine.memory_bandwidth_method},
          {"weight_bytes", model.runner->weights().n_bytes},
          {"n_params", parameter_count(model.config)}};
}

void print_table(const std::string& title, const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  std::printf("%s\n", title.c_str());
  for (const auto& [key, value] : rows) std::printf("  %-*s  %s\n", static_cast<int>(width), key.c_str(), value.c_str());
}

}  // namespace swallow::cli
