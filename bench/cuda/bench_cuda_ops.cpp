// bench_cuda_ops [JSON_PATH]: times the CUDA backend's hot ops on Llama 3.1 8B shapes with random
// bf16 data (CUDA events, median of repetitions after warm-up, weights rotated over 4 copies so
// the 50 MB L2 does not serve them): decode matmuls (n = 1, 8) as weight bandwidth, prefill
// matmuls (n = 2048) as TFLOP/s, decode and prefill attention, and sampling. Prints a table.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "backend/cuda/cuda_backend.h"

namespace {

using swallow::Buffer;
using swallow::CudaBackend;
using swallow::DType;
using swallow::Tensor;

struct Result {
  std::string name;
  double ms;
  double gb_per_s;      // bytes that must move / time (0 when not meaningful)
  double tflop_per_s;   // useful flops / time (0 when not meaningful)
};

class Bench {
 public:
  Bench() : backend_(swallow::CudaBackendOptions{0, 0.95}) {
    cudaEventCreate(&start_);
    cudaEventCreate(&stop_);
  }

  // A [rows, cols] bf16 tensor of dummy values in (-1/64, 1/64).
  Tensor tensor(int64_t rows, int64_t cols, DType dtype = DType::kBF16) {
    buffers_.push_back(backend_.allocate(static_cast<size_t>(rows * cols) * swallow::dtype_size(dtype)));
    Tensor t{buffers_.back()->data(), dtype, rows, cols};
    if (dtype == DType::kBF16) {
      backend_.fill_dummy_bf16(t, buffers_.size() * 7919, {0.0f, 1.0f / 64.0f});
    } else {
      cudaMemsetAsync(t.data, 0, t.n_bytes(), backend_.stream());
    }
    return t;
  }

  template <typename Fn>
  double median_ms(Fn&& fn, int reps = 30) {
    for (int i = 0; i < 3; ++i) fn(i);
    std::vector<float> times;
    for (int i = 0; i < reps; ++i) {
      cudaEventRecord(start_, backend_.stream());
      fn(i);
      cudaEventRecord(stop_, backend_.stream());
      cudaEventSynchronize(stop_);
      float ms = 0.0f;
      cudaEventElapsedTime(&ms, start_, stop_);
      times.push_back(ms);
    }
    backend_.synchronize();
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

  void matmul(const std::string& name, int64_t n, int64_t k, int64_t m) {
    std::vector<Tensor> w;
    for (int i = 0; i < 4; ++i) w.push_back(tensor(m, k));
    const Tensor x = tensor(n, k), out = tensor(n, m);
    const double ms = median_ms([&](int i) { backend_.matmul(x, w[i % 4], out); });
    const double bytes = static_cast<double>(m * k + n * k + n * m) * 2.0;
    results_.push_back({name + " n=" + std::to_string(n), ms, bytes / (ms * 1e6), 2.0 * n * k * m / (ms * 1e9)});
  }

  // n_seqs sequences of `context` tokens, each with q_len new tokens, Llama 3.1 8B heads.
  void attention(const std::string& name, int32_t n_seqs, int32_t context, int32_t q_len) {
    const int32_t bs = 16, heads = 32, kv_heads = 8, dim = 128;
    const int32_t blocks_per_seq = (context + bs - 1) / bs;
    const swallow::KvCacheShape shape{1, n_seqs * blocks_per_seq, bs, kv_heads, dim, DType::kBF16};
    auto cache = backend_.create_kv_cache(shape);
    const Tensor k_all{cache->keys(0), DType::kBF16, int64_t{shape.n_blocks} * bs, int64_t{kv_heads} * dim};
    const Tensor v_all{cache->values(0), DType::kBF16, k_all.rows, k_all.cols};
    backend_.fill_dummy_bf16(k_all, 1, {0.0f, 1.0f});
    backend_.fill_dummy_bf16(v_all, 2, {0.0f, 1.0f});
    std::vector<int32_t> pos, starts{0}, lens, tables;
    for (int32_t s = 0; s < n_seqs; ++s) {
      for (int32_t i = 0; i < q_len; ++i) pos.push_back(context - q_len + i);
      starts.push_back(starts.back() + q_len);
      lens.push_back(context);
      for (int32_t b = 0; b < blocks_per_seq; ++b) tables.push_back(s * blocks_per_seq + b);
    }
    const Tensor d_pos = upload(pos), d_starts = upload(starts), d_tables = upload(tables);
    const int32_t n_tokens = starts.back();
    const Tensor q = tensor(n_tokens, int64_t{heads} * dim), out = tensor(n_tokens, int64_t{heads} * dim);
    const swallow::AttentionBatch batch{n_tokens, n_seqs, d_pos.as<int32_t>(), nullptr, d_starts.as<int32_t>(),
                                        d_tables.as<int32_t>(), blocks_per_seq, starts, lens};
    const swallow::AttentionParams params{heads, kv_heads, dim, 1.0f / std::sqrt(128.0f)};
    const double ms = median_ms([&](int) { backend_.attention(*cache, 0, q, batch, params, out); });
    const double kv_bytes = 2.0 * n_seqs * context * kv_heads * dim * 2.0;
    double flops = 0.0;  // causal: token at position p attends p + 1 keys
    for (int32_t p : pos) flops += 4.0 * heads * dim * (p + 1);
    results_.push_back({name, ms, kv_bytes / (ms * 1e6), flops / (ms * 1e9)});
  }

  void sample(const std::string& name, int32_t n_seqs, float temperature, float top_p) {
    const int64_t vocab = 128256;
    const Tensor logits = tensor(n_seqs, vocab, DType::kF32);
    std::vector<float> host(static_cast<size_t>(n_seqs * vocab));
    for (size_t i = 0; i < host.size(); ++i) host[i] = std::sin(static_cast<float>(i) * 0.37f) * 8.0f;
    backend_.copy_to_device(logits.data, host.data(), host.size() * sizeof(float));
    swallow::SamplingParams params;
    params.temperature = temperature;
    params.top_p = top_p;
    std::vector<swallow::SequenceSampling> seqs(n_seqs, swallow::SequenceSampling{&params, {}, {}});
    std::vector<swallow::SampledToken> out(n_seqs);
    const double ms = median_ms([&](int) { backend_.sample(logits, seqs, out); }, 20);
    results_.push_back({name, ms, 0.0, 0.0});
  }

  void report(const char* json_path) {
    std::printf("| op | ms | GB/s | TFLOP/s |\n|---|---|---|---|\n");
    for (const Result& r : results_) std::printf("| %s | %.4f | %.0f | %.1f |\n", r.name.c_str(), r.ms, r.gb_per_s, r.tflop_per_s);
    if (json_path == nullptr) return;
    FILE* f = std::fopen(json_path, "w");
    if (f == nullptr) return;
    std::fprintf(f, "{\"benchmark\": \"cuda_ops\", \"backend\": \"%s\", \"results\": [", backend_.name().c_str());
    for (size_t i = 0; i < results_.size(); ++i) {
      const Result& r = results_[i];
      std::fprintf(f, "%s\n  {\"op\": \"%s\", \"ms\": %.5f, \"gb_per_s\": %.1f, \"tflop_per_s\": %.2f}", i ? "," : "",
                   r.name.c_str(), r.ms, r.gb_per_s, r.tflop_per_s);
    }
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }

 private:
  Tensor upload(const std::vector<int32_t>& v) {
    buffers_.push_back(backend_.allocate(v.size() * sizeof(int32_t)));
    backend_.copy_to_device(buffers_.back()->data(), v.data(), v.size() * sizeof(int32_t));
    return {buffers_.back()->data(), DType::kI32, 1, static_cast<int64_t>(v.size())};
  }

  CudaBackend backend_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  std::vector<Result> results_;
  cudaEvent_t start_{}, stop_{};
};

}  // namespace

int main(int argc, char** argv) {
  try {
    Bench b;
    for (int64_t n : {1, 8}) {
      b.matmul("qkv 4096->6144", n, 4096, 6144);
      b.matmul("o 4096->4096", n, 4096, 4096);
      b.matmul("gate_up 4096->28672", n, 4096, 28672);
      b.matmul("down 14336->4096", n, 14336, 4096);
      b.matmul("lm_head 4096->128256", n, 4096, 128256);
    }
    b.matmul("gate_up 4096->28672", 2048, 4096, 28672);
    b.matmul("down 14336->4096", 2048, 14336, 4096);
    b.attention("attention decode 1 x 256", 1, 256, 1);
    b.attention("attention decode 1 x 4096", 1, 4096, 1);
    b.attention("attention decode 64 x 1024", 64, 1024, 1);
    b.attention("attention decode 128 x 256", 128, 256, 1);
    b.attention("attention decode 128 x 200", 128, 200, 1);
    b.attention("attention prefill 2048", 1, 2048, 2048);
    b.sample("sample greedy x1", 1, 0.0f, 1.0f);
    b.sample("sample top_p 0.9 x1", 1, 0.7f, 0.9f);
    b.sample("sample top_p 0.9 x128", 128, 0.7f, 0.9f);
    b.report(argc > 1 ? argv[1] : nullptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_ops: %s\n", e.what());
    return 1;
  }
  return 0;
}
