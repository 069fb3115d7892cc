// Request validation: one check per parameter, messages in the form
// "'<parameter>' must be <expected> (got <value>)".
#include "engine/request_validation.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace swallow {
namespace {

constexpr int32_t kMaxLogprobs = 20;  // vLLM's default max_logprobs

template <typename T>
[[noreturn]] void fail(const char* parameter, const std::string& expected, T value) {
  std::ostringstream message;
  message << "'" << parameter << "' must be " << expected << " (got " << value << ")";
  throw invalid_argument(message.str());
}

void check_token_id(const char* parameter, int32_t id, int32_t vocab_size) {
  if (id < 0 || id >= vocab_size) fail(parameter, "token ids in [0, " + std::to_string(vocab_size) + ")", id);
}

void validate_sampling(const SamplingParams& s, int32_t vocab_size) {
  if (!(s.temperature >= 0.0f) || !std::isfinite(s.temperature)) fail("temperature", ">= 0", s.temperature);
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) fail("top_p", "in (0, 1]", s.top_p);
  if (s.top_k < -1) fail("top_k", "-1 or 0 (disabled) or >= 1", s.top_k);
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f)) fail("min_p", "in [0, 1]", s.min_p);
  if (!(s.repetition_penalty > 0.0f) || !std::isfinite(s.repetition_penalty)) {
    fail("repetition_penalty", "> 0", s.repetition_penalty);
  }
  if (!(s.presence_penalty >= -2.0f && s.presence_penalty <= 2.0f)) fail("presence_penalty", "in [-2, 2]", s.presence_penalty);
  if (!(s.frequency_penalty >= -2.0f && s.frequency_penalty <= 2.0f)) {
    fail("frequency_penalty", "in [-2, 2]", s.frequency_penalty);
  }
  if (s.n_logprobs < -1 || s.n_logprobs > kMaxLogprobs) {
    fail("logprobs", "in [0, " + std::to_string(kMaxLogprobs) + "] when set", s.n_logprobs);
  }
  for (const auto& [token, bias] : s.logit_bias) {
    check_token_id("logit_bias", token, vocab_size);
    if (!std::isfinite(bias)) fail("logit_bias", "finite", bias);
  }
}

}  // namespace

void validate_request(const GenerationRequest& r, int32_t vocab_size) {
  const int n_prompts = int{r.prompt_ids.has_value()} + int{r.prompt_text.has_value()} + int{r.chat.has_value()};
  if (n_prompts != 1) fail("prompt", "exactly one of prompt ids, prompt text or chat messages", n_prompts);
  if (r.prompt_ids && r.prompt_ids->empty()) throw invalid_argument("'prompt' must not be empty");
  if (r.chat) {
    const auto messages = r.chat->is_object() ? r.chat->find("messages") : r.chat->end();
    if (messages == r.chat->end() || !messages->is_array() || messages->empty()) {
      throw invalid_argument("'messages' must be a non-empty array");
    }
  }
  if (r.n < 1) fail("n", ">= 1", r.n);
  if (r.max_tokens == 0 || r.max_tokens < -1) fail("max_tokens", ">= 1", r.max_tokens);
  if (r.min_tokens < 0) fail("min_tokens", ">= 0", r.min_tokens);
  if (r.max_tokens != -1 && r.min_tokens > r.max_tokens) {
    fail("min_tokens", "<= max_tokens (" + std::to_string(r.max_tokens) + ")", r.min_tokens);
  }
  for (const std::string& stop : r.stop) {
    if (stop.empty()) throw invalid_argument("'stop' must not contain an empty string");
  }
  for (int32_t id : r.stop_token_ids) check_token_id("stop_token_ids", id, vocab_size);
  validate_sampling(r.sampling, vocab_size);
}

int32_t resolve_max_tokens(const GenerationRequest& r, const std::vector<int32_t>& prompt, int32_t max_model_len,
                           int32_t vocab_size) {
  if (prompt.empty()) throw invalid_argument("'prompt' must not be empty (it has no tokens)");
  for (int32_t id : prompt) check_token_id("prompt", id, vocab_size);
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  if (n_prompt >= max_model_len) {
    throw invalid_argument("'prompt' is too long: " + std::to_string(n_prompt) +
                           " tokens, and this model's maximum context length is " + std::to_string(max_model_len) +
                           " tokens (prompt and output)");
  }
  if (r.max_tokens == -1) return static_cast<int32_t>(max_model_len - n_prompt);
  if (n_prompt + r.max_tokens > max_model_len) {
    throw invalid_argument("'max_tokens' is too large: this model's maximum context length is " +
                           std::to_string(max_model_len) + " tokens, but " + std::to_string(n_prompt + r.max_tokens) +
                           " were requested (" + std::to_string(n_prompt) + " in the prompt, " +
                           std::to_string(r.max_tokens) + " in the completion)");
  }
  return r.max_tokens;
}

}  // namespace swallow
