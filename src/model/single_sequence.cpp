// SingleSequence: chunked prefill and decode of one sequence through LlamaRunner.
#include "model/single_sequence.h"

#include <algorithm>

#include "core/error.h"

namespace swallow {

SingleSequence::SingleSequence(LlamaRunner& runner, int32_t chunk_tokens) : runner_(runner), chunk_tokens_(chunk_tokens) {
  if (chunk_tokens <= 0) throw invalid_argument("SingleSequence: chunk_tokens must be > 0");
}

void SingleSequence::clear() {
  tokens_.clear();
  prompt_len_ = -1;
}

StepPlan SingleSequence::plan(int32_t begin, int32_t end) {
  const int32_t bs = runner_.kv_shape().block_size;
  while (static_cast<int32_t>(block_table_.size()) * bs < end) block_table_.push_back(static_cast<int32_t>(block_table_.size()));
  StepPlan p;
  SequenceStep s;
  s.tokens = std::span<const int32_t>(tokens_).subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
  s.start_pos = begin;
  s.block_table = block_table_;
  p.seqs.push_back(s);
  return p;
}

std::vector<float> SingleSequence::append(std::span<const int32_t> tokens, std::span<const int32_t> logit_positions) {
  const int32_t begin = length();
  const auto end = static_cast<int32_t>(begin + tokens.size());
  for (int32_t pos : logit_positions) {
    if (pos < begin || pos >= end) {
      throw invalid_argument("logits requested at position " + std::to_string(pos) + ", outside the appended tokens " +
                             std::to_string(begin) + ".." + std::to_string(end - 1));
    }
  }
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  try {
    return run_chunks(begin, logit_positions);
  } catch (...) {
    tokens_.resize(static_cast<size_t>(begin));  // the failed tokens were not appended
    throw;
  }
}

std::vector<float> SingleSequence::run_chunks(int32_t begin, std::span<const int32_t> logit_positions) {
  const int32_t end = length();
  const size_t vocab = static_cast<size_t>(runner_.vocab_size());
  std::vector<float> out(logit_positions.size() * vocab);  // [positions, vocab] f32
  for (int32_t first = begin; first < end; first += chunk_tokens_) {
    const int32_t last = std::min(end, first + chunk_tokens_);
    std::vector<int32_t> rows;     // rows of this chunk that were asked for
    std::vector<size_t> out_rows;  // where each goes in `out`
    for (size_t i = 0; i < logit_positions.size(); ++i) {
      if (logit_positions[i] >= first && logit_positions[i] < last) {
        rows.push_back(logit_positions[i] - first);
        out_rows.push_back(i);
      }
    }
    const std::vector<float> chunk = runner_.logits(plan(first, last), rows);  // [rows, vocab]
    for (size_t r = 0; r < rows.size(); ++r) {
      std::copy_n(chunk.begin() + static_cast<ptrdiff_t>(r * vocab), vocab, out.begin() + static_cast<ptrdiff_t>(out_rows[r] * vocab));
    }
  }
  return out;
}

SampledToken SingleSequence::append_and_sample(std::span<const int32_t> tokens, const SamplingParams& params) {
  if (tokens.empty()) throw invalid_argument("SingleSequence: append_and_sample needs at least one token");
  const int32_t begin = length();
  const int32_t prompt_len = prompt_len_;
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  const int32_t end = length();
  if (prompt_len_ < 0) prompt_len_ = end;
  try {
    // Whole chunks first; the last (partial or whole) chunk samples.
    const int32_t last_begin = begin + (end - begin - 1) / chunk_tokens_ * chunk_tokens_;
    for (int32_t first = begin; first < last_begin; first += chunk_tokens_) runner_.execute(plan(first, first + chunk_tokens_));
    StepPlan p = plan(last_begin, end);
    SequenceStep& s = p.seqs[0];
    s.sample = true;
    s.sampling.params = &params;
    s.sampling.prompt_tokens = std::span<const int32_t>(tokens_).first(static_cast<size_t>(prompt_len_));
    s.sampling.output_tokens = std::span<const int32_t>(tokens_).subspan(static_cast<size_t>(prompt_len_));
    return std::move(runner_.execute(p).sampled.at(0));
  } catch (...) {
    tokens_.resize(static_cast<size_t>(begin));  // the failed tokens were not appended
    prompt_len_ = prompt_len;
    throw;
  }
}

}  // namespace swallow
