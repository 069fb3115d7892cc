// CudaGraph replay and the stream-capture calls that make one.
#include "backend/cuda/cuda_graph.h"

#include <string>

#include "backend/cuda/cuda_check.h"
#include "core/error.h"

namespace swallow::cuda {

CudaGraph::~CudaGraph() { cudaGraphExecDestroy(exec_); }

void CudaGraph::replay() {
  SWALLOW_CUDA_CHECK("graph replay", cudaSetDevice(device_));
  SWALLOW_CUDA_CHECK("graph replay", cudaGraphLaunch(exec_, stream_));
}

void begin_stream_capture(cudaStream_t stream, int device) {
  SWALLOW_CUDA_CHECK("begin_capture", cudaSetDevice(device));
  // Thread-local mode: only this thread is kept from calls that would break the recording.
  SWALLOW_CUDA_CHECK("begin_capture", cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
}

std::unique_ptr<CudaGraph> end_stream_capture(cudaStream_t stream, int device) {
  SWALLOW_CUDA_CHECK("end_capture", cudaSetDevice(device));
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (ended != cudaSuccess || graph == nullptr) {
    cudaGetLastError();  // a failed recording leaves a non-sticky error behind; clear it
    throw unsupported(std::string("CUDA graph capture failed: ") + cudaGetErrorString(ended));
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  SWALLOW_CUDA_CHECK("end_capture", made);
  return std::make_unique<CudaGraph>(exec, stream, device);
}

}  // namespace swallow::cuda
