// The split path's layout in SampleLaunch::work (per-row state, chunk maxima, masses and
// histograms, boundary-bin candidates) and its chunking of a row, shared by the split kernels
// (sampling_split.cu), the one-block kernel (which skips rows the split path sampled) and
// sample_work_bytes; and the split kernels' launcher. Included by .cu files only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cuda/sampling_block.cuh"
#include "backend/cuda/sampling_kernel.h"

namespace swallow::cuda::sampling {

// Split path: chunks of at least kMinChunk tokens, at most kTargetBlocks of them over all rows
// (two 1024-thread blocks per SM on a 132-SM H100) unless each row needs one; probability bins
// of width 1 / kBinScale in processed-logit distance below the max (the last bin takes everything
// further down); the most boundary-bin tokens of a row.
constexpr int32_t kMinChunk = kThreads * 4;
constexpr int32_t kTargetBlocks = 264;
constexpr int32_t kBins = 512;
constexpr float kBinScale = 16.0f;
constexpr uint32_t kMaxCandidates = 2048;

// One split-path row's state in the work scratch, followed by its chunk data (SplitView).
struct SplitRow {
  uint32_t hist_arrivals = 0;    // blocks done with the histogram kernel
  uint32_t select_arrivals = 0;  // blocks done with the candidates kernel
  uint32_t n_candidates = 0;     // tokens in the boundary bin
  int32_t fallback = 0;          // 1: the one-block kernel samples this row
  float max = 0.0f;              // largest processed logit
  int32_t boundary_bin = 0;      // the bin where the top_p mass is reached; kBins: keep all
  uint32_t cut_key = 0;          // kept: key > cut_key, or key == cut_key and id <= cut_id
  int32_t cut_id = 0;
  double above = 0.0;             // mass of the bins before boundary_bin
  double target = 0.0;            // top_p * the row's mass
};

struct SplitView {
  SplitRow* row;
  double* chunk_mass;    // [n_chunks] kept mass per chunk
  double* chunk_hist;    // [n_chunks, kBins] mass per bin per chunk
  uint64_t* candidates;  // [kMaxCandidates] (key << 32) | ~id of the boundary-bin tokens
  float* chunk_max;      // [n_chunks]
};

struct Chunking {
  int32_t n_chunk;  // chunks per row
  int32_t len;      // tokens per chunk (a multiple of kThreads; the last chunk may be shorter)
};

inline __host__ __device__ Chunking chunking(int32_t n_rows, int32_t n_vocab) {
  const int32_t most = (n_vocab + kMinChunk - 1) / kMinChunk;
  const int32_t wanted = kTargetBlocks / n_rows;
  const int32_t n_chunk = wanted < 1 ? 1 : (wanted > most ? most : wanted);
  const int32_t len = ((n_vocab + n_chunk - 1) / n_chunk + kThreads - 1) / kThreads * kThreads;
  return {(n_vocab + len - 1) / len, len};
}

inline __host__ __device__ size_t align256(size_t n) { return (n + 255) / 256 * 256; }

inline __host__ __device__ size_t split_row_bytes(int32_t n_chunk) {
  const auto c = static_cast<size_t>(n_chunk);
  return align256(sizeof(SplitRow) + c * (1 + kBins) * sizeof(double) + kMaxCandidates * sizeof(uint64_t) +
                  c * sizeof(float));
}

inline __device__ SplitView split_view(const SampleLaunch& a, int32_t r) {
  const int32_t n_chunk = chunking(a.n_rows, a.n_vocab).n_chunk;
  const auto c = static_cast<size_t>(n_chunk);
  uint8_t* base = reinterpret_cast<uint8_t*>(a.work) +
                  align256(static_cast<size_t>(a.n_rows) * static_cast<size_t>(a.n_vocab) * sizeof(float)) +
                  static_cast<size_t>(r) * split_row_bytes(n_chunk);
  SplitView v;
  v.row = reinterpret_cast<SplitRow*>(base);
  v.chunk_mass = reinterpret_cast<double*>(base + sizeof(SplitRow));
  v.chunk_hist = v.chunk_mass + c;
  v.candidates = reinterpret_cast<uint64_t*>(v.chunk_hist + c * kBins);
  v.chunk_max = reinterpret_cast<float*>(v.candidates + kMaxCandidates);
  return v;
}

// Launches the four split kernels (grid: chunks x rows) for the rows with uses_split_path; TL is
// the logits' storage type (float or __nv_bfloat16).
template <typename TL>
void launch_split_kernels(const SampleLaunch& a, const LaunchContext& ctx);

}  // namespace swallow::cuda::sampling
