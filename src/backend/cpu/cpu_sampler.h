// The CPU sample op, also the reference for other backends: one token from one row of logits
// with one sequence's SamplingParams, following vLLM (v1) order: logit_bias, repetition /
// frequency / presence penalties, then greedy argmax, or temperature, min_p, top_k, top_p and a
// random draw. The draw u = sampling_uniform(seed, n_generated) depends on nothing else, so a
// sequence samples the same tokens whatever else is in the batch. Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "backend/sampling.h"

namespace swallow::cpu {

// Uniform in [0, 1) from a counter-based generator (splitmix64 of seed and counter).
double sampling_uniform(uint64_t seed, uint64_t counter);

// Logits after logit_bias and the penalties (what greedy takes the argmax of).
// logits [n_vocab] f32. Throws invalid_argument for a logit_bias token outside the vocabulary.
std::vector<float> penalized_logits(std::span<const float> logits, const SequenceSampling& seq);

// The distribution a non-greedy draw samples from: probabilities [n_vocab] (f64, summing to 1)
// after temperature, min_p, top_k and top_p; removed tokens have probability 0.
std::vector<double> sampling_distribution(std::span<const float> logits, const SequenceSampling& seq);

// Samples one token (and its logprobs when params.n_logprobs >= 0).
SampledToken sample_row(std::span<const float> logits, const SequenceSampling& seq);

}  // namespace swallow::cpu
