// CudaBackend: device selection, memory, copies, synchronisation and the device status word,
// KV cache creation, sample and read_f32. The compute ops are in cuda_backend_ops.cpp.
#include "backend/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/cuda_check.h"
#include "backend/cuda/cuda_graph.h"
#include "core/error.h"

namespace swallow {
namespace {

constexpr size_t kCublasWorkspaceBytes = size_t{32} << 20;
// Kept out of free_memory() for workspaces that ops grow on demand.
constexpr size_t kWorkspaceReserveBytes = size_t{512} << 20;

}  // namespace

CudaBackend::CudaBackend(const CudaBackendOptions& options)
    : device_(options.device), utilization_(options.gpu_memory_utilization), graphs_(options.graphs) {
  if (!(utilization_ > 0.0 && utilization_ <= 1.0)) {
    throw invalid_argument("--gpu-memory-utilization must be in (0, 1], got " + std::to_string(utilization_));
  }
  int n_devices = 0;
  const cudaError_t status = cudaGetDeviceCount(&n_devices);
  if (status != cudaSuccess || n_devices == 0) {
    throw unsupported(std::string("--device cuda: no usable CUDA device (") +
                      (status != cudaSuccess ? cudaGetErrorString(status) : "none found") + ")");
  }
  if (device_ < 0 || device_ >= n_devices) {
    throw invalid_argument("CUDA device " + std::to_string(device_) + " does not exist (" + std::to_string(n_devices) +
                           " found)");
  }
  SWALLOW_CUDA_CHECK("init", cudaSetDevice(device_));
  cudaDeviceProp props{};
  SWALLOW_CUDA_CHECK("init", cudaGetDeviceProperties(&props, device_));
  device_name_ = props.name;
  n_sms_ = props.multiProcessorCount;
  compute_major_ = props.major;
  compute_minor_ = props.minor;
  total_memory_ = props.totalGlobalMem;
  if (compute_major_ < 8) {
    throw unsupported("CUDA device " + std::to_string(device_) + " (" + device_name_ + ") has compute capability " +
                      std::to_string(compute_major_) + "." + std::to_string(compute_minor_) +
                      "; the CUDA backend needs 8.0 or newer (bf16 tensor cores)");
  }
  const char* dependent_launch = std::getenv("SWALLOW_CUDA_DEPENDENT_LAUNCH");
  dependent_launch_ = compute_major_ >= 9 && (dependent_launch == nullptr || std::strcmp(dependent_launch, "0") != 0);
  SWALLOW_CUDA_CHECK("init", cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  status_ = std::make_unique<cuda::CudaBuffer>(sizeof(uint32_t), "the status word");
  SWALLOW_CUDA_CHECK("init", cudaMemsetAsync(status_->data(), 0, sizeof(uint32_t), stream_));
  cublas_ = std::make_unique<cuda::CublasLtMatmul>();
  cublas_workspace_ = std::make_unique<cuda::CudaBuffer>(kCublasWorkspaceBytes, "the cuBLASLt workspace");
}

CudaBackend::~CudaBackend() {
  if (stream_ != nullptr) {
    cudaStreamSynchronize(stream_);
    cudaStreamDestroy(stream_);
  }
}

std::string CudaBackend::name() const {
  return "cuda:" + std::to_string(device_) + " (" + device_name_ + ", sm_" + std::to_string(compute_major_) +
         std::to_string(compute_minor_) + ", " + std::to_string(n_sms_) + " SMs)";
}

cuda::LaunchContext CudaBackend::ctx(const char* op) const {
  SWALLOW_CUDA_CHECK(op, cudaSetDevice(device_));
  // Recorded graphs run faster without programmatic dependent launch (H100, 8B decode: 175.3 vs
  // 172.7 tok/s); eager launches gain from it.
  return {stream_, status_word(), op, dependent_launch_ && !capturing_};
}

std::unique_ptr<Buffer> CudaBackend::allocate(size_t n_bytes) {
  SWALLOW_CUDA_CHECK("allocate", cudaSetDevice(device_));
  return std::make_unique<cuda::CudaBuffer>(n_bytes, "a buffer");
}

size_t CudaBackend::free_memory() const {
  size_t free_bytes = 0, total_bytes = 0;
  SWALLOW_CUDA_CHECK("free_memory", cudaSetDevice(device_));
  SWALLOW_CUDA_CHECK("free_memory", cudaMemGetInfo(&free_bytes, &total_bytes));
  const auto budget = static_cast<size_t>(utilization_ * static_cast<double>(total_bytes));
  const size_t used = total_bytes - free_bytes;  // by every process on the card, this one included
  const size_t available = std::min(free_bytes, budget > used ? budget - used : 0);
  return available > kWorkspaceReserveBytes ? available - kWorkspaceReserveBytes : 0;
}

void CudaBackend::copy_to_device(void* dst, const void* src, size_t n_bytes) {
  if (n_bytes == 0) return;
  SWALLOW_CUDA_CHECK("copy_to_device", cudaMemcpyAsync(dst, src, n_bytes, cudaMemcpyDefault, stream_));
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t n_bytes) {
  if (n_bytes > 0) SWALLOW_CUDA_CHECK("copy_to_host", cudaMemcpyAsync(dst, src, n_bytes, cudaMemcpyDefault, stream_));
  poll_status("copy_to_host");
}

void CudaBackend::synchronize() { poll_status("synchronize"); }

void CudaBackend::poll_status(const char* op) {
  auto* host = static_cast<uint32_t*>(status_host_.get(sizeof(uint32_t)));
  SWALLOW_CUDA_CHECK(op, cudaMemcpyAsync(host, status_word(), sizeof(uint32_t), cudaMemcpyDeviceToHost, stream_));
  SWALLOW_CUDA_CHECK(op, cudaStreamSynchronize(stream_));
  raise_status(*host, op);
}

void CudaBackend::raise_status(uint32_t status, const char* op) {
  if (status == 0) return;
  SWALLOW_CUDA_CHECK(op, cudaMemsetAsync(status_word(), 0, sizeof(uint32_t), stream_));
  std::string problems;
  auto note = [&](uint32_t bit, const char* text) {
    if ((status & bit) == 0) return;
    if (!problems.empty()) problems += "; ";
    problems += text;
  };
  note(cuda::kStatusBadRowIndex, "an embedding / gather_rows index outside its table");
  note(cuda::kStatusBadSlot, "a store_kv slot_mapping entry outside the KV cache");
  note(cuda::kStatusBadBlock, "an attention block-table entry outside the KV cache");
  note(cuda::kStatusBadPosition, "an attention position beyond its block table");
  note(cuda::kStatusBadLogits, "a logits row whose largest value is not finite (sample)");
  throw invalid_argument(std::string("CUDA backend (detected at ") + op + "): " + problems +
                         "; the elements concerned were skipped");
}

std::unique_ptr<KvCache> CudaBackend::create_kv_cache(const KvCacheShape& shape) {
  SWALLOW_CUDA_CHECK("create_kv_cache", cudaSetDevice(device_));
  return std::make_unique<cuda::CudaKvCache>(shape, stream_);
}

void CudaBackend::begin_capture() {
  if (!graphs_) Backend::begin_capture();
  cuda::begin_stream_capture(stream_, device_);
  capturing_ = true;
}

std::unique_ptr<Graph> CudaBackend::end_capture() {
  capturing_ = false;
  return cuda::end_stream_capture(stream_, device_);
}

uint64_t CudaBackend::workspace_generation() const {
  return attention_scratch_.generation() + convert_scratch_.generation();
}

void CudaBackend::sample(const Tensor& logits, std::span<const SequenceSampling> seqs, std::span<SampledToken> out) {
  raise_status(sampler_.sample(logits, seqs, out, ctx("sample")), "sample");
}

void CudaBackend::read_f32(const Tensor& x, float* dst) {
  const size_t n = static_cast<size_t>(x.n_elements());
  if (x.dtype == DType::kF32) {
    copy_to_host(dst, x.data, n * sizeof(float));
    return;
  }
  std::vector<uint8_t> raw(x.n_bytes());  // [rows, cols] in x.dtype
  copy_to_host(raw.data(), x.data, raw.size());
  for (size_t i = 0; i < n; ++i) {
    switch (x.dtype) {
      case DType::kBF16: {
        uint16_t v;
        std::memcpy(&v, raw.data() + 2 * i, 2);
        dst[i] = bf16_to_f32(v);
        break;
      }
      case DType::kF16: {
        uint16_t v;
        std::memcpy(&v, raw.data() + 2 * i, 2);
        dst[i] = f16_to_f32(v);
        break;
      }
      case DType::kI32: {
        int32_t v;
        std::memcpy(&v, raw.data() + 4 * i, 4);
        dst[i] = static_cast<float>(v);
        break;
      }
      case DType::kF32: break;
    }
  }
}

void CudaBackend::fill_dummy_bf16(const Tensor& out, uint64_t seed, const dummy::Distribution& dist,
                                  uint64_t first_index) {
  if (out.dtype != DType::kBF16) {
    throw invalid_argument(std::string("fill_dummy_bf16: tensor dtype ") + dtype_name(out.dtype) + ", expected BF16");
  }
  cuda::launch_fill_dummy_bf16(out.as<uint16_t>(), out.n_elements(), seed, dist, first_index, ctx("fill_dummy_bf16"));
}

}  // namespace swallow
