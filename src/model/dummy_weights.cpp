// make_dummy_llama_weights: bf16 weights from the counter-based hash of core/dummy_hash.h,
// generated in parallel straight into host backend buffers, or staged in chunks and copied.
#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/thread_pool.h"
#include "model/llama_weights.h"

namespace swallow {
namespace {

constexpr int64_t kStagingElements = int64_t{1} << 24;  // 32 MiB of bf16 per copy_to_device

// out[i] = element first + i of the dummy tensor, i < n; whole blocks of four elements share
// one hash computation.
void fill(ThreadPool& pool, uint16_t* out, int64_t first, int64_t n, uint64_t seed, dummy::Distribution dist) {
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i < end && ((first + i) & 3) != 0; ++i) out[i] = dummy::value_bf16(seed, static_cast<uint64_t>(first + i), dist);
    for (; i + 4 <= end; i += 4) {
      const auto index = static_cast<uint64_t>(first + i);
      const uint64_t block = dummy::block_hash(seed, index);
      for (int lane = 0; lane < 4; ++lane) {
        out[i + lane] = dummy::f32_to_bf16_bits(dummy::value_from_block(block, index + lane, dist));
      }
    }
    for (; i < end; ++i) out[i] = dummy::value_bf16(seed, static_cast<uint64_t>(first + i), dist);
  }, int64_t{1} << 16);
}

std::string gigabytes(uint64_t n_bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(n_bytes) / 1e9);
  return text;
}

}  // namespace

dummy::Distribution dummy_distribution(const WeightSlot& slot) {
  if (slot.role == WeightRole::kNorm) return {1.0f, 1.0f / 16.0f};
  float half_width = 1.0f;
  while (static_cast<double>(half_width) * half_width * static_cast<double>(slot.cols) > 1.0) half_width /= 2.0f;
  return {0.0f, half_width};
}

LlamaWeights make_dummy_llama_weights(const ModelConfig& config, Backend& backend, const WeightLoadOptions& options) {
  LlamaWeights w;
  const std::vector<WeightSlot> slots = llama_weight_slots(config, w);
  for (const WeightSlot& slot : slots) w.n_bytes += static_cast<uint64_t>(slot.rows * slot.cols) * 2;
  if (w.n_bytes > backend.free_memory()) {
    throw resource_exhausted("dummy weights of this model need " + gigabytes(w.n_bytes) + " but the " +
                             backend.name() + " backend has " + gigabytes(backend.free_memory()) + " free");
  }
  ThreadPool pool(options.n_threads);
  std::vector<uint16_t> staging;  // [<= kStagingElements] bf16, only without host memory
  uint64_t done = 0;
  for (const WeightSlot& slot : slots) {
    const int64_t n = slot.rows * slot.cols;
    const uint64_t seed = dummy::name_seed(slot.name.data(), slot.name.size());
    const dummy::Distribution dist = dummy_distribution(slot);
    std::unique_ptr<Buffer> buffer = backend.allocate(static_cast<size_t>(n) * 2);
    auto* out = static_cast<uint16_t*>(buffer->data());  // [rows, cols] bf16
    if (options.host_memory) {
      fill(pool, out, 0, n, seed, dist);
    } else {
      staging.resize(static_cast<size_t>(std::min(n, kStagingElements)));
      for (int64_t first = 0; first < n; first += kStagingElements) {
        const int64_t count = std::min(kStagingElements, n - first);
        fill(pool, staging.data(), first, count, seed, dist);
        backend.copy_to_device(out + first, staging.data(), static_cast<size_t>(count) * 2);
        backend.synchronize();  // staging is reused
      }
    }
    *slot.tensor = {out, DType::kBF16, slot.rows, slot.cols};
    w.buffers.push_back(std::move(buffer));
    done += static_cast<uint64_t>(n) * 2;
    if (options.progress) options.progress(done, w.n_bytes);
  }
  if (config.tie_word_embeddings) w.lm_head = w.embed_tokens;
  return w;
}

}  // namespace swallow
