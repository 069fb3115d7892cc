// CudaSampler: parameter checks, per-token edits, packing, upload, launch and result unpacking.
#include "backend/cuda/sampler.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/sampling_kernel.h"
#include "core/error.h"

namespace swallow::cuda {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void check_params(const SamplingParams& p) {
  if (!(p.temperature >= 0.0f) || !(p.top_p > 0.0f && p.top_p <= 1.0f) || !(p.min_p >= 0.0f && p.min_p <= 1.0f) ||
      !(p.repetition_penalty > 0.0f)) {
    throw invalid_argument("sampling: need temperature >= 0, 0 < top_p <= 1, 0 <= min_p <= 1, repetition_penalty > 0 (got " +
                           std::to_string(p.temperature) + ", " + std::to_string(p.top_p) + ", " +
                           std::to_string(p.min_p) + ", " + std::to_string(p.repetition_penalty) + ")");
  }
}

void check_token(int32_t token, int64_t n_vocab, const char* what) {
  if (token < 0 || token >= n_vocab) {
    throw invalid_argument(std::string("sampling: ") + what + " token id " + std::to_string(token) +
                           " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
  }
}

size_t align8(size_t n) { return (n + 7) / 8 * 8; }

struct Packed {
  std::vector<SampleRowParams> rows;
  std::vector<SampleEdit> edits;
  std::vector<float> biases;
  int32_t max_top = 0;
};

// Appends the edits of one sequence (distinct tokens in id order) and sets row's edit range.
void add_edits(const SequenceSampling& seq, int64_t n_vocab, Packed& packed, SampleRowParams& row) {
  const SamplingParams& p = *seq.params;
  const bool repetition = p.repetition_penalty != 1.0f;
  const bool frequency = p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f;
  std::vector<int32_t> touched;  // distinct token ids
  for (const auto& [token, bias] : p.logit_bias) {
    check_token(token, n_vocab, "logit_bias");
    touched.push_back(token);
  }
  if (repetition) {
    for (int32_t t : seq.prompt_tokens) check_token(t, n_vocab, "prompt/output");
    for (int32_t t : seq.output_tokens) check_token(t, n_vocab, "prompt/output");
    touched.insert(touched.end(), seq.prompt_tokens.begin(), seq.prompt_tokens.end());
    touched.insert(touched.end(), seq.output_tokens.begin(), seq.output_tokens.end());
  }
  if (frequency) {
    for (int32_t t : seq.output_tokens) check_token(t, n_vocab, "output");
    touched.insert(touched.end(), seq.output_tokens.begin(), seq.output_tokens.end());
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  row.edit_begin = static_cast<int32_t>(packed.edits.size());
  row.edit_count = static_cast<int32_t>(touched.size());
  for (int32_t t : touched) packed.edits.push_back(SampleEdit{t, 0, 0, 0, 0});
  auto edit_of = [&](int32_t token) -> SampleEdit& {
    const auto at = std::lower_bound(touched.begin(), touched.end(), token) - touched.begin();
    return packed.edits[static_cast<size_t>(row.edit_begin + at)];
  };
  // Biases grouped by token, each token's in list order (the order the CPU adds them).
  std::vector<size_t> order(p.logit_bias.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return p.logit_bias[a].first < p.logit_bias[b].first; });
  for (size_t i : order) {
    SampleEdit& e = edit_of(p.logit_bias[i].first);
    if (e.bias_count == 0) e.bias_begin = static_cast<int32_t>(packed.biases.size());
    packed.biases.push_back(p.logit_bias[i].second);
    ++e.bias_count;
  }
  if (repetition) {
    for (int32_t t : seq.prompt_tokens) edit_of(t).repeated = 1;
    for (int32_t t : seq.output_tokens) edit_of(t).repeated = 1;
  }
  if (frequency) {
    for (int32_t t : seq.output_tokens) ++edit_of(t).out_count;
  }
}

Packed pack(std::span<const SequenceSampling> seqs, int64_t n_vocab) {
  Packed packed;
  packed.rows.resize(seqs.size());
  for (size_t r = 0; r < seqs.size(); ++r) {
    const SequenceSampling& seq = seqs[r];
    if (seq.params == nullptr) throw invalid_argument("sample: a sequence has no sampling parameters");
    const SamplingParams& p = *seq.params;
    check_params(p);
    if (p.n_logprobs > kMaxTopLogprobs) {
      throw unsupported("sample: n_logprobs " + std::to_string(p.n_logprobs) + " exceeds the CUDA backend's limit " +
                        std::to_string(kMaxTopLogprobs));
    }
    SampleRowParams& row = packed.rows[r];
    row.greedy = p.greedy() ? 1 : 0;
    row.u = row.greedy ? 0.0 : sampling_uniform(p.seed, seq.output_tokens.size());
    row.temperature = p.temperature;
    row.top_p = p.top_p;
    row.min_p = p.min_p;
    row.repetition_penalty = p.repetition_penalty;
    row.frequency_penalty = p.frequency_penalty;
    row.presence_penalty = p.presence_penalty;
    row.top_k = p.top_k;
    row.n_logprobs = p.n_logprobs;
    packed.max_top = std::max<int32_t>(packed.max_top, static_cast<int32_t>(std::min<int64_t>(p.n_logprobs, n_vocab)));
    add_edits(seq, n_vocab, packed, row);
  }
  return packed;
}

}  // namespace

double sampling_uniform(uint64_t seed, uint64_t counter) {
  const uint64_t bits = splitmix64(splitmix64(seed) ^ counter);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

uint32_t CudaSampler::sample(const Tensor& logits, std::span<const SequenceSampling> seqs,
                             std::span<SampledToken> out, const LaunchContext& ctx) {
  if (static_cast<int64_t>(seqs.size()) != logits.rows || out.size() != seqs.size()) {
    throw invalid_argument("sample: logits [" + std::to_string(logits.rows) + ", " + std::to_string(logits.cols) +
                           "], " + std::to_string(seqs.size()) + " sequences and " + std::to_string(out.size()) +
                           " outputs must agree");
  }
  if (logits.dtype != DType::kF32 && logits.dtype != DType::kBF16) {
    throw unsupported(std::string("sample: logits dtype ") + dtype_name(logits.dtype) + " (expected F32 or BF16)");
  }
  if (logits.cols <= 0 || logits.cols > (int64_t{1} << 30)) {
    throw invalid_argument("sample: vocabulary size " + std::to_string(logits.cols) + " out of range");
  }
  if (seqs.empty()) return 0;
  const Packed packed = pack(seqs, logits.cols);
  const size_t n = seqs.size();

  // Upload: rows | edits | biases.
  const size_t rows_bytes = align8(n * sizeof(SampleRowParams));
  const size_t edits_bytes = align8(packed.edits.size() * sizeof(SampleEdit));
  const size_t upload_bytes = rows_bytes + edits_bytes + packed.biases.size() * sizeof(float);
  auto* host = static_cast<uint8_t*>(upload_host_.get(upload_bytes));
  std::memcpy(host, packed.rows.data(), n * sizeof(SampleRowParams));
  if (!packed.edits.empty()) std::memcpy(host + rows_bytes, packed.edits.data(), packed.edits.size() * sizeof(SampleEdit));
  if (!packed.biases.empty()) {
    std::memcpy(host + rows_bytes + edits_bytes, packed.biases.data(), packed.biases.size() * sizeof(float));
  }
  auto* device = static_cast<uint8_t*>(upload_device_.get(upload_bytes));
  SWALLOW_CUDA_CHECK(ctx.op, cudaMemcpyAsync(device, host, upload_bytes, cudaMemcpyHostToDevice, ctx.stream));

  // Results: row results | top ids | top logprobs | status word.
  const size_t top = n * static_cast<size_t>(packed.max_top);
  const size_t results_bytes = align8(n * sizeof(SampleRowResult));
  const size_t ids_bytes = align8(top * sizeof(int32_t));
  const size_t result_bytes = results_bytes + ids_bytes + align8(top * sizeof(float)) + sizeof(uint32_t);
  auto* result_device = static_cast<uint8_t*>(result_device_.get(result_bytes));

  SampleLaunch launch;
  launch.logits = logits.data;
  launch.logits_dtype = logits.dtype;
  launch.n_rows = static_cast<int32_t>(n);
  launch.n_vocab = static_cast<int32_t>(logits.cols);
  launch.rows = reinterpret_cast<const SampleRowParams*>(device);
  launch.edits = reinterpret_cast<const SampleEdit*>(device + rows_bytes);
  launch.biases = reinterpret_cast<const float*>(device + rows_bytes + edits_bytes);
  launch.work = static_cast<float*>(work_.get(sample_work_bytes(launch.n_rows, launch.n_vocab)));
  launch.results = reinterpret_cast<SampleRowResult*>(result_device);
  launch.top_ids = reinterpret_cast<int32_t*>(result_device + results_bytes);
  launch.top_logprobs = reinterpret_cast<float*>(result_device + results_bytes + ids_bytes);
  launch.max_top = packed.max_top;
  auto split = [&](const SampleRowParams& row) { return uses_split_path(row, launch.n_vocab); };
  launch.n_split_rows = static_cast<int32_t>(std::count_if(packed.rows.begin(), packed.rows.end(), split));
  launch_sample(launch, ctx);

  const size_t status_offset = result_bytes - sizeof(uint32_t);
  SWALLOW_CUDA_CHECK(ctx.op, cudaMemcpyAsync(result_device + status_offset, ctx.status, sizeof(uint32_t),
                                             cudaMemcpyDeviceToDevice, ctx.stream));
  auto* result_host = static_cast<uint8_t*>(result_host_.get(result_bytes));
  SWALLOW_CUDA_CHECK(ctx.op, cudaMemcpyAsync(result_host, result_device, result_bytes, cudaMemcpyDeviceToHost, ctx.stream));
  SWALLOW_CUDA_CHECK(ctx.op, cudaStreamSynchronize(ctx.stream));
  uint32_t status = 0;
  std::memcpy(&status, result_host + status_offset, sizeof status);

  const auto* results = reinterpret_cast<const SampleRowResult*>(result_host);
  const auto* top_ids = reinterpret_cast<const int32_t*>(result_host + results_bytes);
  const auto* top_lp = reinterpret_cast<const float*>(result_host + results_bytes + ids_bytes);
  for (size_t r = 0; r < n; ++r) {
    SampledToken& t = out[r];
    t.token = results[r].token;
    t.logprob = results[r].logprob;
    t.top.clear();
    const int32_t n_logprobs = packed.rows[r].n_logprobs;
    if (n_logprobs > 0) {
      const size_t count = static_cast<size_t>(std::min<int64_t>(n_logprobs, logits.cols));
      for (size_t i = 0; i < count; ++i) {
        t.top.push_back({top_ids[r * packed.max_top + i], top_lp[r * packed.max_top + i]});
      }
    }
  }
  return status;
}

}  // namespace swallow::cuda
