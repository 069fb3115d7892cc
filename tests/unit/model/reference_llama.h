// A plain double-precision LlamaForCausalLM forward over one whole sequence (no KV cache), written
// from the Hugging Face definition independently of src/model: the ground truth of the model tests.
#pragma once

#include <cstdint>
#include <vector>

#include "tiny_llama.h"

namespace swallow::test {

// Logits of every position: [tokens.size()][vocab].
std::vector<std::vector<double>> reference_logits(const TinySpec& spec, const std::vector<NamedTensor>& tensors,
                                                  const std::vector<int32_t>& tokens);

}  // namespace swallow::test
