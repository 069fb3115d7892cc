// The interface the engine drives: execute one StepPlan, report the KV cache geometry. The Llama
// implementation (llama_runner.h) works with any Backend; tests use fakes. Used by the engine
// thread only.
#pragma once

#include <cstdint>

#include "backend/kv_cache.h"
#include "model/step_plan.h"

namespace swallow {

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  // Runs the forward pass for every sequence of the plan (writing their new tokens' keys and
  // values into the cache) and samples where asked. Throws swallow::Error on failure.
  virtual StepResult execute(const StepPlan& plan) = 0;
  virtual const KvCacheShape& kv_shape() const = 0;
  // Longest sequence (prompt + output) the model supports.
  virtual int32_t max_model_len() const = 0;
  virtual int32_t vocab_size() const = 0;
};

}  // namespace swallow
