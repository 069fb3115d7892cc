// bench_cpu_ops: measures the CPU backend on Llama-3.2-1B shapes (hidden 2048, intermediate 8192,
// 32 query / 8 KV heads of 64, vocabulary 128256, bf16 weights) next to the machine's memory
// bandwidth and FMA throughput measured in the same run (the decode and prefill ceilings), prints
// a table and optionally writes JSON.
// Usage: bench_cpu_ops [--threads N] [--reference] [--json FILE]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_backend.h"
#include "core/thread_pool.h"

namespace {

using swallow::CpuBackend;
using swallow::DType;
using swallow::Tensor;
using Clock = std::chrono::steady_clock;

double process_cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

// Times work split over n_threads; also tracks the share of n_threads cores the process got
// (below 1 when other processes competed for the cores, making the times pessimistic).
class Timer {
 public:
  explicit Timer(int n_threads) : n_threads_(n_threads) {}

  // Median wall seconds of `reps` runs of fn(1..reps) after one warm-up run fn(0).
  double median(int reps, const std::function<void(int)>& fn) {
    fn(0);
    std::vector<double> seconds;
    for (int r = 0; r < reps; ++r) {
      const auto start = Clock::now();
      const double cpu_start = process_cpu_seconds();
      fn(r + 1);
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      cpu_seconds_ += process_cpu_seconds() - cpu_start;
      core_seconds_ += seconds.back() * n_threads_;
    }
    std::sort(seconds.begin(), seconds.end());
    return seconds[seconds.size() / 2];
  }
  double cpu_share() const { return core_seconds_ > 0 ? cpu_seconds_ / core_seconds_ : 0.0; }

 private:
  int n_threads_;
  double cpu_seconds_ = 0.0;
  double core_seconds_ = 0.0;
};

// Copy (bytes read + written) and read-only bandwidth over 512 MiB buffers, split over threads.
std::pair<double, double> memory_bandwidth(swallow::ThreadPool& pool, Timer& timer) {
  const size_t n = size_t{512} << 20;
  std::vector<uint8_t> src(n, 1), dst(n, 0);
  double copy_s = timer.median(3, [&](int) {
    pool.parallel_for(static_cast<int64_t>(n), [&](int64_t b, int64_t e) { std::memcpy(&dst[b], &src[b], e - b); }, 1 << 20);
  });
  std::vector<uint64_t> sums(64);
  double read_s = timer.median(3, [&](int) {
    pool.parallel_for(static_cast<int64_t>(n / 8), [&](int64_t b, int64_t e) {
      const auto* words = reinterpret_cast<const uint64_t*>(src.data());
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (int64_t i = b; i + 4 <= e; i += 4) {
        s0 += words[i];
        s1 += words[i + 1];
        s2 += words[i + 2];
        s3 += words[i + 3];
      }
      sums[static_cast<size_t>(b * 64 / static_cast<int64_t>(n / 8))] = s0 + s1 + s2 + s3;
    }, 1 << 17);
  });
  return {2.0 * n / copy_s / 1e9, n / read_s / 1e9};
}

// f32 FLOP/s of 10 independent AVX2 FMA chains per thread (the compute ceiling of the matmul
// kernels); 0 on a CPU without AVX2/FMA.
__attribute__((target("avx2,fma"))) void fma_chains(int64_t iterations, float* sink) {
  __m256 acc[10];
  for (int i = 0; i < 10; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
  for (int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 10
    for (int i = 0; i < 10; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  for (int i = 1; i < 10; ++i) acc[0] = _mm256_add_ps(acc[0], acc[i]);
  _mm256_storeu_ps(sink, acc[0]);
}

double fma_peak_flops(swallow::ThreadPool& pool, Timer& timer) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0.0;
  const int64_t iterations = 20'000'000;
  std::vector<float> sink(8 * static_cast<size_t>(pool.n_threads()));
  const double s = timer.median(3, [&](int) {
    pool.parallel_for(pool.n_threads(), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) fma_chains(iterations, &sink[8 * t]);
    });
  });
  return iterations * 10.0 * 16.0 * pool.n_threads() / s;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

struct MatmulCase {
  const char* name;
  int64_t m, k;
  int per_layer;  // how many times a layer computes this shape (0: once per model)
};

}  // namespace

int main(int argc, char** argv) {
  int n_threads = 2;
  bool reference = false;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      n_threads = std::stoi(argv[++i]);
    } else if (arg == "--reference") {
      reference = true;
    } else if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_cpu_ops [--threads N] [--reference] [--json FILE]\n");
      return 2;
    }
  }
  CpuBackend backend({.n_threads = n_threads, .memory_budget_bytes = 0, .reference_kernels = reference});
  swallow::ThreadPool pool(n_threads);
  Timer timer(n_threads);
  const auto [copy_gbs, read_gbs] = memory_bandwidth(pool, timer);
  const double peak_gflops = fma_peak_flops(pool, timer) / 1e9;
  std::printf("%s on %s\nceilings: memory copy %.1f GB/s (read + write), read %.1f GB/s; AVX2 FMA %.1f GFLOP/s\n\n",
              backend.name().c_str(), cpu_model().c_str(), copy_gbs, read_gbs, peak_gflops);
  nlohmann::json report = {{"backend", backend.name()}, {"cpu", cpu_model()}, {"threads", n_threads},
                           {"copy_gb_s", copy_gbs}, {"read_gb_s", read_gbs}, {"fma_peak_gflop_s", peak_gflops},
                           {"matmul", nlohmann::json::array()}};

  const MatmulCase cases[] = {{"q_proj/o_proj", 2048, 2048, 2}, {"k_proj/v_proj", 512, 2048, 2},
                              {"gate/up_proj", 8192, 2048, 2},  {"down_proj", 2048, 8192, 1},
                              {"lm_head", 128256, 2048, 0}};
  const int64_t n_layers = 16;
  std::printf("%-14s %6s %6s %4s %10s %9s %9s %9s\n", "matmul", "m", "k", "n", "ms", "GB/s", "GFLOP/s", "ceiling");
  double model_seconds[2] = {0.0, 0.0};  // decode token, prefill of 512 (lm_head on one row)
  for (const MatmulCase& c : cases) {
    const int64_t weight_bytes = c.m * c.k * 2;
    // Enough weight copies that one pass over them cannot sit in the caches.
    const int64_t copies = std::max<int64_t>(1, (int64_t{256} << 20) / weight_bytes);
    std::vector<uint16_t> weights(static_cast<size_t>(copies * c.m * c.k));
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<uint16_t>(0x3c00 + (i * 2654435761u >> 20) % 512);
    for (int64_t n : {int64_t{1}, int64_t{512}}) {
      if (c.per_layer == 0 && n > 1) continue;
      std::vector<float> x(static_cast<size_t>(n * c.k), 0.01f), out(static_cast<size_t>(n * c.m));
      const double s = timer.median(n == 1 ? 20 : 3, [&](int rep) {
        Tensor w{weights.data() + (rep % copies) * c.m * c.k, DType::kBF16, c.m, c.k};
        backend.matmul({x.data(), DType::kF32, n, c.k}, w, {out.data(), DType::kF32, n, c.m});
      });
      const double gbs = weight_bytes / s / 1e9, gflops = 2.0 * n * c.m * c.k / s / 1e9;
      // Share of the ceiling that bounds this case: read bandwidth for decode, FMA rate for prefill.
      const double share = n == 1 ? gbs / read_gbs : gflops / peak_gflops;
      std::printf("%-14s %6ld %6ld %4ld %10.3f %9.1f %9.1f %8.0f%%\n", c.name, c.m, c.k, n, s * 1e3, gbs, gflops, 100 * share);
      report["matmul"].push_back({{"name", c.name}, {"m", c.m}, {"k", c.k}, {"n", n}, {"seconds", s}, {"gb_s", gbs}, {"gflop_s", gflops}});
      const int64_t repeats = c.per_layer == 0 ? 1 : c.per_layer * n_layers;
      model_seconds[n == 1 ? 0 : 1] += s * repeats;
      if (c.per_layer == 0) model_seconds[1] += s;
    }
  }
  std::printf("\nmatmuls of a 16-layer 1B model: decode %.2f tok/s, prefill 512 %.1f tok/s\n",
              1.0 / model_seconds[0], 512.0 / model_seconds[1]);
  report["matmul_only_decode_tok_s"] = 1.0 / model_seconds[0];
  report["matmul_only_prefill512_tok_s"] = 512.0 / model_seconds[1];

  // Attention of one layer: a 512-token prefill, and one decode token over 512 cached tokens.
  const swallow::AttentionParams params{32, 8, 64, 0.125f};
  auto cache = backend.create_kv_cache({.n_layers = 1, .n_blocks = 40, .block_size = 16, .n_kv_heads = 8, .head_dim = 64});
  std::vector<int32_t> pos(512), slots(512), table(40), start = {0, 512}, len = {512};
  for (int32_t i = 0; i < 512; ++i) pos[i] = slots[i] = i;
  for (int32_t b = 0; b < 40; ++b) table[b] = b;
  std::vector<float> q(512 * 2048, 0.01f), out(512 * 2048), kv(512 * 512, 0.02f);
  swallow::AttentionBatch prefill{.n_tokens = 512, .n_seqs = 1, .token_pos = pos.data(), .slot_mapping = slots.data(),
                                  .seq_token_start = start.data(), .block_tables = table.data(), .max_blocks_per_seq = 40,
                                  .host_seq_token_start = start, .host_seq_len = len};
  backend.store_kv(*cache, 0, {kv.data(), DType::kF32, 512, 512}, {kv.data(), DType::kF32, 512, 512}, prefill);
  const double prefill_s = timer.median(3, [&](int) {
    backend.attention(*cache, 0, {q.data(), DType::kF32, 512, 2048}, prefill, params, {out.data(), DType::kF32, 512, 2048});
  });
  const std::vector<int32_t> one_start = {0, 1};
  swallow::AttentionBatch decode = prefill;
  decode.n_tokens = 1;
  decode.token_pos = pos.data() + 511;
  decode.slot_mapping = slots.data() + 511;
  decode.seq_token_start = one_start.data();
  decode.host_seq_token_start = one_start;
  const double decode_s = timer.median(20, [&](int) {
    backend.attention(*cache, 0, {q.data(), DType::kF32, 1, 2048}, decode, params, {out.data(), DType::kF32, 1, 2048});
  });
  std::printf("attention (one layer): prefill 512 %.2f ms, decode at 512 %.3f ms\n", prefill_s * 1e3, decode_s * 1e3);
  report["attention_prefill512_ms"] = prefill_s * 1e3;
  report["attention_decode512_ms"] = decode_s * 1e3;
  std::printf("CPU share: the benchmark got %.0f%% of %d cores (lower: other processes competed)\n",
              100 * timer.cpu_share(), n_threads);
  report["cpu_share"] = timer.cpu_share();
  if (!json_path.empty()) std::ofstream(json_path) << report.dump(2) << "\n";
  return 0;
}
