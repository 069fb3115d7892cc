// CudaSampler: the host side of the device sample op. Validates parameters like the CPU
// sampler, turns each sequence's logit_bias and token histories into per-token edits, computes
// the seeded uniform draw (the CPU sampler's counter-based function), uploads one packed buffer,
// launches sampling.cu and brings back only ids and requested logprobs. Owned by CudaBackend.
#pragma once

#include <span>

#include "backend/cuda/device_memory.h"
#include "backend/cuda/kernels.h"
#include "backend/sampling.h"
#include "backend/tensor.h"

namespace swallow::cuda {

// Uniform in [0, 1) for draw `counter` of stream `seed`: splitmix64(splitmix64(seed) ^ counter),
// top 53 bits (identical to cpu::sampling_uniform).
double sampling_uniform(uint64_t seed, uint64_t counter);

class CudaSampler {
 public:
  CudaSampler() = default;
  // logits [n_seqs, n_vocab] f32 or bf16 (device). Synchronises ctx.stream before returning
  // and returns the device status word (StatusBit flags) read together with the results.
  // Throws invalid_argument for bad parameters or token ids (before touching the device).
  uint32_t sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out,
                  const LaunchContext& ctx);

 private:
  PinnedBuffer upload_host_{"sample upload"};
  PinnedBuffer result_host_{"sample results"};
  DeviceScratch upload_device_{"sample upload"};
  DeviceScratch result_device_{"sample results"};
  DeviceScratch work_{"sample work (processed logits)"};
};

}  // namespace swallow::cuda
