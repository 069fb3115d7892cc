// RecordingBackend: a Backend that runs every op on a CpuBackend and supports graph capture by
// recording the ops enqueued between begin_capture() and end_capture() as closures, replayed in
// order by the Graph. Lets code that records graphs (DecodeGraphs) be tested without a GPU.
// Memory, copies and sampling are never recorded. One thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"

namespace swallow::test {

class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(const CpuBackendOptions& options) : cpu_(options) {}

  std::string name() const override { return "recording " + cpu_.name(); }
  DType activation_dtype() const override { return cpu_.activation_dtype(); }
  std::unique_ptr<Buffer> allocate(size_t n_bytes) override { return cpu_.allocate(n_bytes); }
  size_t free_memory() const override { return cpu_.free_memory(); }
  void copy_to_device(void* dst, const void* src, size_t n_bytes) override { cpu_.copy_to_device(dst, src, n_bytes); }
  void copy_to_host(void* dst, const void* src, size_t n_bytes) override { cpu_.copy_to_host(dst, src, n_bytes); }
  void synchronize() override { cpu_.synchronize(); }
  std::unique_ptr<KvCache> create_kv_cache(const KvCacheShape& shape) override { return cpu_.create_kv_cache(shape); }

  void embedding(const Tensor& table, const int32_t* ids, const Tensor& out) override {
    run([=, this] { cpu_.embedding(table, ids, out); });
  }
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) override {
    run([=, this] { cpu_.rms_norm(x, weight, eps, out); });
  }
  void matmul(const Tensor& x, const Tensor& w, const Tensor& out) override {
    run([=, this] { cpu_.matmul(x, w, out); });
  }
  void rope(const Tensor& q, const Tensor& k, const int32_t* positions, const RopeTable& table) override {
    run([=, this] { cpu_.rope(q, k, positions, table); });
  }
  void store_kv(KvCache& cache, int32_t layer, const Tensor& k, const Tensor& v, const AttentionBatch& batch) override {
    run([=, this, &cache] { cpu_.store_kv(cache, layer, k, v, batch); });
  }
  void attention(const KvCache& cache, int32_t layer, const Tensor& q, const AttentionBatch& batch,
                 const AttentionParams& params, const Tensor& out) override {
    run([=, this, &cache] { cpu_.attention(cache, layer, q, batch, params, out); });
  }
  void silu_mul(const Tensor& gate, const Tensor& up, const Tensor& out) override {
    run([=, this] { cpu_.silu_mul(gate, up, out); });
  }
  void add(const Tensor& a, const Tensor& b, const Tensor& out) override {
    run([=, this] { cpu_.add(a, b, out); });
  }
  void gather_rows(const Tensor& x, const int32_t* rows, const Tensor& out) override {
    run([=, this] { cpu_.gather_rows(x, rows, out); });
  }
  void sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out) override {
    if (recording_) throw internal_error("sample while recording");
    cpu_.sample(logits, seqs, out);
  }
  void read_f32(const Tensor& x, float* dst) override { cpu_.read_f32(x, dst); }

  bool supports_graphs() const override { return true; }
  void begin_capture() override {
    if (recording_) throw internal_error("begin_capture while recording");
    recording_ = true;
    recorded_.clear();
  }
  std::unique_ptr<Graph> end_capture() override {
    if (!recording_) throw internal_error("end_capture without begin_capture");
    recording_ = false;
    return std::make_unique<Recorded>(std::move(recorded_), replays_);
  }

  int64_t ops_run() const { return ops_run_; }    // ops run eagerly or in replays
  int64_t replays() const { return replays_; }    // Graph::replay calls

 private:
  class Recorded final : public Graph {
   public:
    Recorded(std::vector<std::function<void()>> ops, int64_t& replays) : ops_(std::move(ops)), replays_(replays) {}
    void replay() override {
      ++replays_;
      for (const auto& op : ops_) op();
    }

   private:
    std::vector<std::function<void()>> ops_;
    int64_t& replays_;
  };

  void run(std::function<void()> op) {
    if (recording_) {
      recorded_.push_back([this, op = std::move(op)] {
        ++ops_run_;
        op();
      });
      return;
    }
    ++ops_run_;
    op();
  }

  CpuBackend cpu_;
  bool recording_ = false;
  std::vector<std::function<void()>> recorded_;
  int64_t ops_run_ = 0;
  int64_t replays_ = 0;
};

}  // namespace swallow::test
