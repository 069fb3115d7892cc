// OutputProcessor: the order of checks follows vLLM: stop strings (text), then eos / stop token
// ids, then max_tokens; nothing stops before min_tokens, and text before min_tokens is not
// searched for stop strings.
#include "engine/output_processor.h"

#include <algorithm>

namespace swallow {

OutputProcessor::OutputProcessor(const StopRules& rules, std::unique_ptr<IncrementalDecoder> decoder)
    : rules_(rules), decoder_(std::move(decoder)), matcher_(rules.stop) {}

bool OutputProcessor::is_stop_token(int32_t token, RequestEvent& event) const {
  auto contains = [token](const std::vector<int32_t>& ids) {
    return std::find(ids.begin(), ids.end(), token) != ids.end();
  };
  if (contains(rules_.eos_token_ids)) return true;
  if (contains(rules_.stop_token_ids)) {
    event.stop_token_id = token;
    return true;
  }
  return false;
}

bool OutputProcessor::flush(RequestEvent& event) {
  StopStringMatcher::Result tail = matcher_.push(decoder_->finish());
  event.text += tail.text;
  if (tail.stop_index) {
    event.stop_reason = rules_.stop[*tail.stop_index];
    return true;
  }
  event.text += matcher_.flush();
  return false;
}

std::optional<FinishReason> OutputProcessor::add(const SampledToken& sampled, int32_t n_output, RequestEvent& event) {
  event.token_ids.push_back(sampled.token);
  if (rules_.logprobs) event.logprobs.push_back(sampled);
  const bool may_stop = n_output >= rules_.min_tokens;

  if (may_stop && is_stop_token(sampled.token, event)) {
    flush(event);
    return FinishReason::kStop;
  }
  std::string piece = decoder_->push(sampled.token);
  if (n_output <= rules_.min_tokens) {
    event.text += matcher_.flush() + piece;  // not searched for stop strings yet
  } else {
    StopStringMatcher::Result result = matcher_.push(piece);
    event.text += result.text;
    if (result.stop_index) {
      event.stop_reason = rules_.stop[*result.stop_index];
      return FinishReason::kStop;
    }
  }
  if (n_output >= rules_.max_tokens) return flush(event) ? FinishReason::kStop : FinishReason::kLength;
  return std::nullopt;
}

}  // namespace swallow
