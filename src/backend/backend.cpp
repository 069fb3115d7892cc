// Defaults of Backend: each fused op is the sequence of basic ops it stands for; graph capture is
// not supported.
#include "backend/backend.h"

#include "core/error.h"

namespace swallow {

void Backend::matmuls(const Tensor& x, std::span<const Tensor> ws, std::span<const Tensor> outs) {
  if (ws.size() != outs.size()) throw invalid_argument("matmuls: as many outputs as weights are needed");
  for (size_t i = 0; i < ws.size(); ++i) matmul(x, ws[i], outs[i]);
}

void Backend::swiglu(const Tensor& x, const Tensor& gate_w, const Tensor& up_w, const Tensor& gate, const Tensor& up,
                     const Tensor& out) {
  matmul(x, gate_w, gate);
  matmul(x, up_w, up);
  silu_mul(gate, up, out);
}

void Backend::add_rms_norm(const Tensor& hidden, const Tensor& delta, const Tensor& weight, float eps,
                           const Tensor& normed) {
  add(hidden, delta, hidden);
  rms_norm(hidden, weight, eps, normed);
}

void Backend::rope_store_kv(const Tensor& q, const Tensor& k, const Tensor& v, const RopeTable& table, KvCache& cache,
                            int32_t layer, const AttentionBatch& batch) {
  rope(q, k, batch.token_pos, table);
  store_kv(cache, layer, k, v, batch);
}

bool Backend::supports_graphs() const { return false; }

void Backend::begin_capture() { throw unsupported("backend " + name() + " cannot record graphs"); }

std::unique_ptr<Graph> Backend::end_capture() { throw unsupported("backend " + name() + " cannot record graphs"); }

uint64_t Backend::workspace_generation() const { return 0; }

}  // namespace swallow
