// TwinDecode: the same teacher-forced decoding of a changing ragged batch on two LlamaRunners, one
// that replays recorded decode graphs and one that runs every step eagerly, comparing each step's
// sampled tokens with a caller's rule; and the bucket scenario the CPU unit suite and the GPU model
// suite both run through it (batch and context buckets change, scratch buffers regrow).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/sampling.h"
#include "model/llama_runner.h"

namespace swallow::test {

class TwinDecode {
 public:
  // Checks the graphed runner's token against the eager one's; `where` names step and sequence.
  using Compare = std::function<void(const SampledToken& eager, const SampledToken& graphed, const std::string& where)>;

  TwinDecode(LlamaRunner& eager, LlamaRunner& graphed, Compare compare);

  // A sequence with a seeded prompt of `prompt_len` ids below the vocabulary, its own KV blocks.
  void add(int64_t id, size_t prompt_len);
  void drop(size_t index);
  // One step over every sequence (its unprocessed tokens, greedy sample after the last) on both
  // runners; each sequence continues with the eager runner's token.
  void step();

  size_t tokens_of(size_t index) const { return seqs_.at(index).tokens.size(); }
  int steps() const { return steps_; }

 private:
  struct Seq {
    int64_t id;
    std::vector<int32_t> tokens;  // prompt and every token fed since
    std::vector<int32_t> blocks;  // its own KV blocks
    int32_t done = 0;             // tokens already in the KV cache
  };

  LlamaRunner& eager_;
  LlamaRunner& graphed_;
  Compare compare_;
  SamplingParams greedy_;
  std::vector<Seq> seqs_;
  int steps_ = 0;
};

// Ten prompts (7 to 250 ids) decoded in the 12-sequence bucket (two padding rows) for four steps
// (one recording, three replays); two sequences dropped (the 8 bucket) and four more steps
// crossing 256 keys (two more recordings); then a 700-id prompt beside eight decodes (the scratch
// buffers grow: every recording is dropped) and four steps in the 12 bucket with three padding
// rows (one recording, three replays). Needs max_model_len >= 1024 and 704 KV blocks.
void run_bucket_scenario(TwinDecode& twin, const LlamaRunner& graphed);

}  // namespace swallow::test
