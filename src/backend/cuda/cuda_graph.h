// CudaGraph: the Graph of the CUDA backend, an instantiated CUDA graph (cudaGraphExec_t) made by
// stream capture and replayed on the stream it was recorded on. Owns the executable graph. Used by
// the backend's one thread.
#pragma once

#include <cuda_runtime.h>

#include <memory>

#include "backend/backend.h"

namespace swallow::cuda {

class CudaGraph final : public Graph {
 public:
  CudaGraph(cudaGraphExec_t exec, cudaStream_t stream, int device) : exec_(exec), stream_(stream), device_(device) {}
  ~CudaGraph() override;
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  void replay() override;

 private:
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
  int device_;
};

// Starts recording the work enqueued on `stream` by this thread.
void begin_stream_capture(cudaStream_t stream, int device);
// Ends the recording on `stream` and instantiates it. Throws unsupported, with the recording
// ended, when something enqueued could not be recorded.
std::unique_ptr<CudaGraph> end_stream_capture(cudaStream_t stream, int device);

}  // namespace swallow::cuda
