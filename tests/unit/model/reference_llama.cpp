// reference_logits: embedding, (RMSNorm, GQA attention with rotate-half rope and llama3 scaling,
// RMSNorm, SwiGLU) x layers, final RMSNorm, lm_head; all in double.
#include "reference_llama.h"

#include <cmath>
#include <map>
#include <numbers>
#include <string>

namespace swallow::test {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

struct Weights {
  std::map<std::string, const NamedTensor*> by_name;
  const std::vector<float>& operator[](const std::string& name) const { return by_name.at(name)->values; }
};

// y[r] = sum_c w[r * cols + c] * x[c] for every row of x: [n][cols] -> [n][rows].
Matrix linear(const Matrix& x, const std::vector<float>& w, size_t rows) {
  Matrix y(x.size(), std::vector<double>(rows));
  for (size_t t = 0; t < x.size(); ++t) {
    const size_t cols = x[t].size();
    for (size_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (size_t c = 0; c < cols; ++c) sum += static_cast<double>(w[r * cols + c]) * x[t][c];
      y[t][r] = sum;
    }
  }
  return y;
}

Matrix rms_norm(const Matrix& x, const std::vector<float>& w, double eps) {
  Matrix y = x;
  for (auto& row : y) {
    double ss = 0;
    for (double v : row) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(row.size()) + eps);
    for (size_t c = 0; c < row.size(); ++c) row[c] = row[c] * inv * w[c];
  }
  return y;
}

std::vector<double> inv_freq(const TinySpec& s) {
  std::vector<double> f(static_cast<size_t>(s.head_dim / 2));
  for (size_t i = 0; i < f.size(); ++i) {
    f[i] = 1.0 / std::pow(s.rope_theta, 2.0 * static_cast<double>(i) / static_cast<double>(s.head_dim));
    if (!s.llama3_rope) continue;
    const double factor = 4, low = 1, high = 4, original = 32;
    const double wavelen = 2 * std::numbers::pi / f[i];
    if (wavelen > original / low) {
      f[i] /= factor;
    } else if (wavelen >= original / high) {
      const double smooth = (original / wavelen - low) / (high - low);
      f[i] = (1 - smooth) * f[i] / factor + smooth * f[i];
    }
  }
  return f;
}

void rope(Matrix& x, int64_t n_heads, const TinySpec& s) {
  const std::vector<double> f = inv_freq(s);
  const size_t half = f.size();
  for (size_t pos = 0; pos < x.size(); ++pos) {
    for (int64_t h = 0; h < n_heads; ++h) {
      double* v = x[pos].data() + h * s.head_dim;
      for (size_t i = 0; i < half; ++i) {
        const double c = std::cos(static_cast<double>(pos) * f[i]), sn = std::sin(static_cast<double>(pos) * f[i]);
        const double a = v[i], b = v[i + half];
        v[i] = a * c - b * sn;
        v[i + half] = b * c + a * sn;
      }
    }
  }
}

Matrix attention(const Matrix& q, const Matrix& k, const Matrix& v, const TinySpec& s) {
  const size_t n = q.size(), hd = static_cast<size_t>(s.head_dim);
  Matrix out(n, std::vector<double>(q[0].size()));
  for (size_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const size_t kv = static_cast<size_t>(h / (s.n_heads / s.n_kv_heads));
      std::vector<double> score(t + 1);
      double max_score = -INFINITY, total = 0;
      for (size_t j = 0; j <= t; ++j) {
        double dot = 0;
        for (size_t d = 0; d < hd; ++d) dot += q[t][h * hd + d] * k[j][kv * hd + d];
        score[j] = dot / std::sqrt(static_cast<double>(hd));
        max_score = std::max(max_score, score[j]);
      }
      for (double& sc : score) total += (sc = std::exp(sc - max_score));
      for (size_t j = 0; j <= t; ++j) {
        for (size_t d = 0; d < hd; ++d) out[t][h * hd + d] += score[j] / total * v[j][kv * hd + d];
      }
    }
  }
  return out;
}

void add_into(Matrix& x, const Matrix& y) {
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t c = 0; c < x[t].size(); ++c) x[t][c] += y[t][c];
}

}  // namespace

std::vector<std::vector<double>> reference_logits(const TinySpec& s, const std::vector<NamedTensor>& tensors,
                                                  const std::vector<int32_t>& tokens) {
  Weights w;
  for (const NamedTensor& t : tensors) w.by_name[t.name] = &t;
  const auto d = static_cast<size_t>(s.hidden);
  Matrix x(tokens.size(), std::vector<double>(d));
  for (size_t t = 0; t < tokens.size(); ++t)
    for (size_t c = 0; c < d; ++c) x[t][c] = w["model.embed_tokens.weight"][static_cast<size_t>(tokens[t]) * d + c];
  const auto q_dim = static_cast<size_t>(s.n_heads * s.head_dim), kv_dim = static_cast<size_t>(s.n_kv_heads * s.head_dim);
  for (int64_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    Matrix h = rms_norm(x, w[p + "input_layernorm.weight"], s.rms_norm_eps);
    Matrix q = linear(h, w[p + "self_attn.q_proj.weight"], q_dim);
    Matrix k = linear(h, w[p + "self_attn.k_proj.weight"], kv_dim);
    Matrix v = linear(h, w[p + "self_attn.v_proj.weight"], kv_dim);
    rope(q, s.n_heads, s);
    rope(k, s.n_kv_heads, s);
    add_into(x, linear(attention(q, k, v, s), w[p + "self_attn.o_proj.weight"], d));
    h = rms_norm(x, w[p + "post_attention_layernorm.weight"], s.rms_norm_eps);
    Matrix gate = linear(h, w[p + "mlp.gate_proj.weight"], static_cast<size_t>(s.intermediate));
    const Matrix up = linear(h, w[p + "mlp.up_proj.weight"], static_cast<size_t>(s.intermediate));
    for (size_t t = 0; t < gate.size(); ++t)
      for (size_t c = 0; c < gate[t].size(); ++c) gate[t][c] = gate[t][c] / (1 + std::exp(-gate[t][c])) * up[t][c];
    add_into(x, linear(gate, w[p + "mlp.down_proj.weight"], d));
  }
  x = rms_norm(x, w["model.norm.weight"], s.rms_norm_eps);
  return linear(x, w[s.tied ? "model.embed_tokens.weight" : "lm_head.weight"], static_cast<size_t>(s.vocab));
}

}  // namespace swallow::test
